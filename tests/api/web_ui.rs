//! The store-manager page: served by the binary, under a strict
//! Content-Security-Policy. (What it does is tested in Chromium: tests/browser.)

use crate::api_tests;
use crate::helpers::{problem, TestApp};

api_tests!(
    the_page_and_its_modules_are_served_with_security_headers,
    an_unknown_page_file_is_a_404_problem,
);

async fn the_page_and_its_modules_are_served_with_security_headers(app: TestApp) {
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let policy = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "script-src 'self'",
        "frame-ancestors 'none'",
        "default-src 'none'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap();
    // No inline script: every <script> names a file of this server.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script type=\"module\" src=\"/ui/").count()
    );

    for (file, content_type) in [
        ("app.js", "text/javascript"),
        ("api.js", "text/javascript"),
        ("live.js", "text/javascript"),
        ("money.js", "text/javascript"),
        ("dom.js", "text/javascript"),
        ("forms.js", "text/javascript"),
        ("conflict.js", "text/javascript"),
        ("locations.js", "text/javascript"),
        ("levels.js", "text/javascript"),
        ("holds.js", "text/javascript"),
        ("csv.js", "text/javascript"),
        ("counts.js", "text/javascript"),
        ("webhooks.js", "text/javascript"),
        ("app.css", "text/css"),
    ] {
        let response = app.get(&format!("/ui/{file}")).await;
        assert_eq!(response.status(), 200, "{file}");
        let served = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(served.starts_with(content_type), "{file}: {served}");
        assert!(
            response.headers().contains_key("content-security-policy"),
            "{file}"
        );
        assert!(!response.text().await.unwrap().is_empty(), "{file}");
    }
}

async fn an_unknown_page_file_is_a_404_problem(app: TestApp) {
    problem(app.get("/ui/secrets.js").await, 404, "not-found").await;
}
