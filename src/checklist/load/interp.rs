//! `${name}`, `${env:NAME}` and `${file:PATH}` templates: how one is split into text and references, and
//! what an expansion carries: the real value the probe uses and the form reports show, in
//! which environment values and files' contents (the secrets) stay written as `${env:NAME}`
//! and `${file:PATH}`.

/// A reference inside `${…}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ref {
    Var(String),
    Env(String),
    /// `${file:PATH}`: a secret read from a file (a Kubernetes or Docker secret, a systemd
    /// credential).
    File(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interpolated {
    pub value: String,
    pub shown: String,
    /// Secret values that went into `value`.
    pub secrets: Vec<String>,
    /// True when a reference had no value (only possible while validating).
    pub incomplete: bool,
}

impl Interpolated {
    pub fn plain(text: &str) -> Self {
        Interpolated { value: text.to_string(), shown: text.to_string(), ..Default::default() }
    }

    pub fn push(&mut self, other: &Interpolated) {
        self.value.push_str(&other.value);
        self.shown.push_str(&other.shown);
        for s in &other.secrets {
            if !self.secrets.contains(s) {
                self.secrets.push(s.clone());
            }
        }
        self.incomplete |= other.incomplete;
    }
}

/// A template that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unclosed `${{` in {0:?}; close it with `}}` or write `$${{` for a literal")]
    Unclosed(String),
    #[error("`${{{0}}}` is not a valid reference; write ${{name}}, ${{env:NAME}} or ${{file:PATH}}")]
    BadReference(String),
}

/// Splits a template into literal text and references. `$${` writes a literal `${`.
pub fn parse(template: &str) -> Result<Vec<Result<String, Ref>>, TemplateError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        literal.push_str(&rest[..pos]);
        rest = &rest[pos..];
        if let Some(after) = rest.strip_prefix("$${") {
            literal.push_str("${");
            rest = after;
        } else if let Some(after) = rest.strip_prefix("${") {
            let end = after.find('}').ok_or_else(|| TemplateError::Unclosed(template.to_string()))?;
            let inner = after[..end].trim();
            let reference = match (inner.strip_prefix("env:"), inner.strip_prefix("file:")) {
                (Some(name), _) if valid_name(name) => Ref::Env(name.to_string()),
                (_, Some(path)) if !path.trim().is_empty() => Ref::File(path.trim().to_string()),
                (None, None) if valid_name(inner) => Ref::Var(inner.to_string()),
                _ => return Err(TemplateError::BadReference(inner.to_string())),
            };
            if !literal.is_empty() {
                parts.push(Ok(std::mem::take(&mut literal)));
            }
            parts.push(Err(reference));
            rest = &after[end + 1..];
        } else {
            literal.push('$');
            rest = &rest[1..];
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Ok(literal));
    }
    Ok(parts)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vars_env_and_escapes() {
        let parts = parse("${api}/x?t=${env:TOKEN}&l=$${lit}$5").unwrap();
        assert_eq!(
            parts,
            vec![
                Err(Ref::Var("api".into())),
                Ok("/x?t=".into()),
                Err(Ref::Env("TOKEN".into())),
                Ok("&l=${lit}$5".into()),
            ]
        );
        assert!(matches!(parse("${unclosed").unwrap_err(), TemplateError::Unclosed(_)));
        assert!(parse("${a b}").is_err());
        assert_eq!(parse("${file:/run/secrets/db}").unwrap(), vec![Err(Ref::File("/run/secrets/db".into()))]);
        assert!(parse("${file:}").is_err());
    }
}
