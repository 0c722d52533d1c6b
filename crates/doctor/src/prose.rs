//! The prose of findings: an error's `Display` is a fragment ("the token is unsigned"), a
//! finding's message and fix are sentences.

/// `s` with a capital first letter and a final full stop.
pub fn sentence(s: &str) -> String {
    let mut out = capitalise(s.trim());
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// `s` with a capital first letter.
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
