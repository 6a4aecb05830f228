//! The operator's guide names every setting the binary takes.

use std::process::Command;

use crate::process::BINARY;

#[test]
fn the_operations_guide_names_every_flag_and_variable() {
    let help = Command::new(BINARY)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md"))
        .unwrap();
    let flag = regex::Regex::new(r"(?m)^\s+(--[a-z-]+)").unwrap();
    let variable = regex::Regex::new(r"\[env: ([A-Z_]+)=").unwrap();
    let mut named = 0;
    for setting in flag
        .captures_iter(&help)
        .chain(variable.captures_iter(&help))
        .map(|captures| captures[1].to_owned())
        .filter(|setting| setting != "--help" && setting != "--version")
    {
        assert!(
            guide.contains(&format!("`{setting}`")),
            "docs/operations.md does not name {setting}"
        );
        named += 1;
    }
    assert!(named >= 20, "only {named} settings found in --help");
}
