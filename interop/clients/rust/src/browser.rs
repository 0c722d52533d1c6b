//! The browser's part: follow Candor's pages from the authorization URL, fill the login form
//! (`username`, `password` + hidden inputs) and press Allow on the consent form, stop at the
//! redirect to the client and return its Location (never followed).

use std::collections::BTreeMap;

#[derive(Debug, Default)]
struct Form {
    action: String,
    method: String,
    inputs: BTreeMap<String, String>,
    buttons: Vec<(String, String)>,
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';').filter(|e| *e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if entity.starts_with("#x") || entity.starts_with("#X") => {
                u32::from_str_radix(&entity[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if entity.starts_with('#') => entity[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `name="v" x='w' y=z flag` -> map (names lowercased, values entity-decoded).
fn attributes(s: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        if start == i {
            i += 1;
            continue;
        }
        let name = s[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let quote = b[i];
                let vstart = i + 1;
                i = vstart;
                while i < b.len() && b[i] != quote {
                    i += 1;
                }
                value = decode_entities(&s[vstart..i.min(b.len())]);
                i += 1;
            } else {
                let vstart = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = decode_entities(&s[vstart..i]);
            }
        }
        map.insert(name, value);
    }
    map
}

fn parse_forms(html: &str) -> Vec<Form> {
    let mut forms: Vec<Form> = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find('>') else { break };
        let tag = &rest[..close];
        rest = &rest[close + 1..];
        let name_end = tag
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(tag.len());
        let name = tag[..name_end].to_ascii_lowercase();
        let attrs = attributes(&tag[name_end..]);
        let get = |k: &str| attrs.get(k).cloned().unwrap_or_default();
        match name.as_str() {
            "form" => forms.push(Form {
                action: get("action"),
                method: attrs
                    .get("method")
                    .map(|m| m.to_ascii_lowercase())
                    .unwrap_or("get".into()),
                ..Form::default()
            }),
            "input" | "button" => {
                let Some(form) = forms.last_mut() else {
                    continue;
                };
                let Some(field) = attrs.get("name").cloned() else {
                    continue;
                };
                let kind = attrs
                    .get("type")
                    .map(|t| t.to_ascii_lowercase())
                    .unwrap_or_else(|| {
                        if name == "button" {
                            "submit".into()
                        } else {
                            "text".into()
                        }
                    });
                if kind == "submit" {
                    form.buttons.push((field, get("value")));
                } else if name == "input" {
                    form.inputs.insert(field, get("value"));
                }
            }
            _ => {}
        }
    }
    forms
}

fn one_line(s: &str, limit: usize) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    s.chars().take(limit).collect()
}

/// Returns the Location of the redirect to `redirect_uri` and the pages passed ("login",
/// "consent").
pub async fn drive(
    browser: &reqwest::Client,
    start: &str,
    redirect_uri: &str,
    username: &str,
    password: &str,
) -> Result<(String, Vec<&'static str>), String> {
    let mut url = url::Url::parse(start).map_err(|e| e.to_string())?;
    let mut form_data: Option<Vec<(String, String)>> = None;
    let mut seen = Vec::new();
    for _ in 0..12 {
        let method = if form_data.is_some() { "POST" } else { "GET" };
        let where_ = format!("{method} {}", url.path());
        let request = match form_data.take() {
            Some(data) => browser.post(url.clone()).form(&data),
            None => browser.get(url.clone()),
        };
        let resp = request.send().await.map_err(|e| format!("{where_}: {e}"))?;
        let status = resp.status();
        if status.is_redirection() {
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| format!("{where_}: {status} without Location"))?;
            let next = url
                .join(location)
                .map_err(|e| format!("{where_}: bad Location: {e}"))?;
            if next.as_str().starts_with(redirect_uri) {
                return Ok((next.to_string(), seen));
            }
            url = next;
            continue;
        }
        let body = resp.text().await.unwrap_or_default();
        if status.as_u16() != 200 {
            return Err(format!(
                "{where_}: expected a page or a redirect, got {status}: {}",
                one_line(&body, 120)
            ));
        }
        let forms = parse_forms(&body);
        let (form, data) = if let Some(f) = forms.iter().find(|f| f.inputs.contains_key("username"))
        {
            if seen.contains(&"login") {
                return Err(format!(
                    "{where_}: login page shown again (wrong password?)"
                ));
            }
            seen.push("login");
            let mut data: Vec<(String, String)> = f
                .inputs
                .iter()
                .filter(|(k, _)| *k != "username" && *k != "password")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            data.push(("username".into(), username.into()));
            data.push(("password".into(), password.into()));
            (f, data)
        } else if let Some(f) = forms
            .iter()
            .find(|f| f.buttons.iter().any(|(n, _)| n == "consent"))
        {
            seen.push("consent");
            let mut data: Vec<(String, String)> = f
                .inputs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            data.push(("consent".into(), "allow".into()));
            (f, data)
        } else {
            return Err(format!(
                "{where_}: expected a login or consent form, got: {}",
                one_line(&body, 100)
            ));
        };
        if form.method != "post" {
            return Err(format!(
                "{where_}: form method {:?}, expected post",
                form.method
            ));
        }
        url = url
            .join(&form.action)
            .map_err(|e| format!("{where_}: bad form action: {e}"))?;
        form_data = Some(data);
    }
    Err("no redirect to the client after 12 steps".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_candor_like_forms() {
        let html = r#"<form method="post" action="/login?x=1&amp;y=2">
            <input type="hidden" name="pending" value="a&#x2F;b">
            <input type="hidden" name="csrf" value='c'>
            <input type="text" id="username" name="username" value="" required autofocus>
            <button type="submit" class="primary">Sign in</button></form>
            <form method="post" action="/consent"><button type="submit" name="consent" value="allow">A</button></form>"#;
        let forms = parse_forms(html);
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[0].action, "/login?x=1&y=2");
        assert_eq!(forms[0].inputs["pending"], "a/b");
        assert_eq!(forms[0].inputs["csrf"], "c");
        assert!(forms[0].inputs.contains_key("username"));
        assert_eq!(
            forms[1].buttons,
            vec![("consent".to_string(), "allow".to_string())]
        );
    }
}
