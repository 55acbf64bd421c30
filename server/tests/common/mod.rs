//! What several test files share: signing in as a browser does.

/// Opens `/login` as a browser would: the sign-in form's token and the `Cookie` pair that holds
/// it (every sign-in post must carry both).
pub fn login_form(base: &str) -> (String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut resp = agent
        .get(format!("{base}/login"))
        .header("Cookie", "lang=en")
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let html = resp.body_mut().read_to_string().unwrap();
    let marker = r#"name="login_csrf" value=""#;
    let at = html.find(marker).expect("a form token") + marker.len();
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    (cookie, html[at..at + 64].to_string())
}
