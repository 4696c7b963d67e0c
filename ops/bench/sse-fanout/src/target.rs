//! The server under test: its address (loopback only), its API shape, and the paths the
//! benchmark uses on it.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use tokio::net::TcpStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shape {
    /// `GET /api/v1/{collection}/events`, events `created` with `{"collection","seq","record"}`.
    Hearth,
    /// `GET /api/realtime` (`PB_CONNECT` gives a client id, then `POST /api/realtime`
    /// subscribes it), events named by the topic with `{"action","record"}`.
    Pocketbase,
}

impl Shape {
    pub fn label(self) -> &'static str {
        match self {
            Shape::Hearth => "hearth",
            Shape::Pocketbase => "pocketbase",
        }
    }

    pub fn default_stream_path(self, collection: &str) -> String {
        match self {
            Shape::Hearth => format!("/api/v1/{collection}/events"),
            Shape::Pocketbase => "/api/realtime".to_string(),
        }
    }

    pub fn default_create_path(self, collection: &str) -> String {
        match self {
            Shape::Hearth => format!("/api/v1/{collection}"),
            Shape::Pocketbase => format!("/api/collections/{collection}/records"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Target {
    pub shape: Shape,
    pub addr: SocketAddr,
    /// `Host` header value (`host:port` as given).
    pub host: String,
    pub stream_path: String,
    pub create_path: String,
    /// PocketBase topic to subscribe to (the collection name).
    pub topic: String,
    /// The record field that carries the create's number (an integer field).
    pub seq_field: String,
}

/// Parses `http://host:port` (no path, no https) and refuses anything but a loopback
/// address: this is a load generator, not something to point at other people's servers.
pub fn parse_base_url(url: &str) -> Result<(SocketAddr, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http://host:port URLs are supported"))?;
    let hostport = rest.trim_end_matches('/');
    if hostport.contains('/') || hostport.is_empty() {
        return Err(format!("{url}: give the server's base URL without a path"));
    }
    let with_port = if hostport
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addrs: Vec<SocketAddr> = with_port
        .to_socket_addrs()
        .map_err(|e| format!("{url}: cannot resolve: {e}"))?
        .collect();
    // Every address the name resolves to must be loopback, not only the one used.
    if addrs.is_empty() || !addrs.iter().all(|a| is_loopback(a.ip())) {
        return Err(format!(
            "{url}: refusing a non-loopback address (the benchmark runs on one machine)"
        ));
    }
    Ok((addrs[0], hostport.to_string()))
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

impl Target {
    pub async fn connect(&self) -> io::Result<TcpStream> {
        let stream = TcpStream::connect(self.addr).await?;
        // Requests and small events must not wait for Nagle's timer.
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        let (addr, host) = parse_base_url("http://127.0.0.1:8090").unwrap();
        assert_eq!(addr.port(), 8090);
        assert_eq!(host, "127.0.0.1:8090");
        assert!(parse_base_url("http://localhost:8080/").is_ok());
        assert!(parse_base_url("http://[::1]:8080").is_ok());
        assert!(parse_base_url("http://10.1.2.3:8080")
            .unwrap_err()
            .contains("non-loopback"));
        assert!(parse_base_url("https://127.0.0.1:8080").is_err());
        assert!(parse_base_url("http://127.0.0.1:8080/api").is_err());
    }

    #[test]
    fn default_paths() {
        assert_eq!(
            Shape::Hearth.default_stream_path("posts"),
            "/api/v1/posts/events"
        );
        assert_eq!(
            Shape::Pocketbase.default_stream_path("posts"),
            "/api/realtime"
        );
        assert_eq!(
            Shape::Pocketbase.default_create_path("posts"),
            "/api/collections/posts/records"
        );
    }
}
