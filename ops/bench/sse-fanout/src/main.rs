fn main() -> std::process::ExitCode {
    sse_fanout::cli::main()
}
