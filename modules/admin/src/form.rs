//! Form bodies and query strings as ordered name/value pairs (names may repeat).

#[derive(Clone, Debug, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(bytes: &[u8]) -> Form {
        Form(serde_urlencoded::from_bytes(bytes).unwrap_or_default())
    }

    pub fn from_query(query: Option<&str>) -> Form {
        Form::parse(query.unwrap_or("").as_bytes())
    }

    /// The first value of `name`, `""` when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// The first value of `name`, trimmed, `None` when absent or blank.
    pub fn opt(&self, name: &str) -> Option<String> {
        let v = self.get(name).trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// A checkbox: present and not `false`/`off`.
    pub fn checked(&self, name: &str) -> bool {
        self.has(name) && !matches!(self.get(name), "false" | "off" | "0")
    }
}

/// Splits `a, b,c` into trimmed non-empty parts.
pub fn list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
