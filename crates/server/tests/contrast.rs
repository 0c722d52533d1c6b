//! The pages' colours meet WCAG 2.2 AA in both colour schemes: 4.5:1 for text, 3:1 for the
//! borders that show where a control is (success criteria 1.4.3 and 1.4.11), read from the one
//! stylesheet every page carries (templates/style.css, inline in base.html).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

/// The custom properties of the light scheme and of the dark one.
fn schemes() -> (HashMap<String, [f64; 3]>, HashMap<String, [f64; 3]>) {
    let css = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/style.css"))
        .unwrap();
    let (light, dark) = css.split_once("prefers-color-scheme: dark").unwrap();
    (properties(light), properties(dark))
}

fn properties(css: &str) -> HashMap<String, [f64; 3]> {
    let mut out = HashMap::new();
    for part in css.split("--").skip(1) {
        let Some((name, rest)) = part.split_once(':') else {
            continue;
        };
        let value: String = rest
            .trim_start()
            .chars()
            .take_while(|c| *c == '#' || c.is_ascii_hexdigit())
            .collect();
        if let Some(rgb) = hex(&value) {
            out.insert(name.trim().to_string(), rgb);
        }
    }
    out
}

fn hex(v: &str) -> Option<[f64; 3]> {
    let v = v.strip_prefix('#')?;
    let full: String = match v.len() {
        3 => v.chars().flat_map(|c| [c, c]).collect(),
        6 => v.to_string(),
        _ => return None,
    };
    let byte = |i: usize| u8::from_str_radix(&full[i..i + 2], 16).ok().map(f64::from);
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// WCAG 2.2 relative luminance and contrast ratio.
fn contrast(a: [f64; 3], b: [f64; 3]) -> f64 {
    let lum = |c: [f64; 3]| {
        let ch = |v: f64| {
            let s = v / 255.0;
            if s <= 0.04045 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(c[0]) + 0.7152 * ch(c[1]) + 0.0722 * ch(c[2])
    };
    let (x, y) = (lum(a) + 0.05, lum(b) + 0.05);
    x.max(y) / x.min(y)
}

#[test]
fn text_and_controls_meet_wcag_aa_in_both_schemes() {
    let (light, dark) = schemes();
    for (scheme, p) in [("light", &light), ("dark", &dark)] {
        let c = |a: &str, b: &str| contrast(p[a], p[b]);
        for (fg, bg, min) in [
            ("fg", "bg", 4.5),
            ("fg", "card", 4.5),
            ("muted", "card", 4.5),
            ("accent", "card", 4.5),
            ("danger", "card", 4.5),
            ("on-accent", "accent", 4.5),
            ("control", "card", 3.0),
            ("control", "bg", 3.0),
        ] {
            let ratio = c(fg, bg);
            assert!(
                ratio >= min,
                "{scheme}: --{fg} on --{bg} is {ratio:.2}:1, under {min}:1"
            );
        }
    }
}
