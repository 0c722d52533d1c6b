//! HAR 1.2 as browsers write it, read leniently (http://www.softwareishard.com/blog/har-12-spec/).
//!
//! Chrome, Firefox and Safari differ: entries are not always in time order, bodies are
//! missing (redirects, navigations) or base64-encoded, `null` appears where the specification
//! says an array, and sanitized exports drop `Authorization`, `Cookie` and `Set-Cookie`.
//! These types accept all of that; [`super::load`] then insists on what the checks need.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// `null` or absent as the default value.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Deserialize)]
pub struct HarFile {
    pub log: Option<Log>,
}

#[derive(Debug, Deserialize)]
pub struct Log {
    pub version: Option<Value>,
    pub creator: Option<Creator>,
    pub browser: Option<Creator>,
    pub entries: Option<Vec<RawEntry>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Creator {
    pub name: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RawEntry {
    #[serde(rename = "startedDateTime")]
    pub started_date_time: Option<String>,
    pub time: Option<Value>,
    pub request: Option<RawRequest>,
    pub response: Option<RawResponse>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NameValue {
    pub name: Option<String>,
    pub value: Option<Value>,
}

impl NameValue {
    /// The pair, with a non-string value printed as JSON; `None` without a name.
    pub fn pair(&self) -> Option<(String, String)> {
        let name = self.name.clone()?;
        let value = match &self.value {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        Some((name, value))
    }
}

#[derive(Debug, Deserialize)]
pub struct RawRequest {
    pub method: Option<String>,
    pub url: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub headers: Vec<NameValue>,
    #[serde(rename = "postData")]
    pub post_data: Option<PostData>,
    #[serde(default, deserialize_with = "null_default")]
    pub cookies: Vec<Value>,
}

#[derive(Debug, Deserialize)]
pub struct PostData {
    #[serde(rename = "mimeType")]
    pub mime_type: Option<String>,
    pub text: Option<String>,
    pub params: Option<Vec<NameValue>>,
    pub encoding: Option<String>,
    /// Playwright's `content: 'attach'` moves request bodies too: `text` is then empty and the
    /// body is in this file.
    #[serde(rename = "_file")]
    pub file: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RawResponse {
    pub status: Option<Value>,
    #[serde(default, deserialize_with = "null_default")]
    pub headers: Vec<NameValue>,
    pub content: Option<Content>,
    #[serde(rename = "redirectURL")]
    pub redirect_url: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub cookies: Vec<Value>,
    #[serde(rename = "_error")]
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Content {
    pub size: Option<Value>,
    #[serde(rename = "mimeType")]
    pub mime_type: Option<String>,
    pub text: Option<String>,
    pub encoding: Option<String>,
    /// Playwright's `recordHar` with `content: 'attach'`: the body is in a file of this name
    /// beside the HAR.
    #[serde(rename = "_file")]
    pub file: Option<String>,
}
