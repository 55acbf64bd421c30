//! Signing in: a plain form posted to the server (`/auth/login`), which checks the password,
//! sets the session cookie and sends the person back where they were (`?next=`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::{current_viewer, local_path, login_form_token};
use crate::i18n::{t, use_lang};

#[component]
pub fn LoginPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let next = local_path(query.read_untracked().get("next").as_deref()).to_string();
    let failed = query.read_untracked().get("error").is_some();
    let signed_in = current_viewer();
    let form_token = login_form_token();
    view! {
        <Title text=t(lang, "Sign in · Actionboard", "로그인 · Actionboard")/>
        <h1>{t(lang, "Sign in", "로그인")}</h1>
        {signed_in.map(|v| view! {
            <p class="notice" role="status">
                {t(lang, "Signed in as ", "현재 로그인: ")}<strong>{v.name}</strong>" ("{v.role}")"
            </p>
        })}
        {failed.then(|| view! {
            <p class="panel error" role="alert">
                {t(lang,
                    "The user name or the password is wrong. Try again, or ask an admin to set your password (actionboard users add).",
                    "사용자 이름 또는 비밀번호가 틀렸습니다. 다시 시도하거나 관리자에게 비밀번호 설정을 요청하세요 (actionboard users add).")}
            </p>
        })}
        <form class="login-form" method="post" action="/auth/login">
            <input type="hidden" name="next" value=next/>
            <input type="hidden" name="login_csrf" value=form_token/>
            <p>
                <label for="login-name">{t(lang, "User name", "사용자 이름")}</label>
                <input id="login-name" name="name" type="text" autocomplete="username" required/>
            </p>
            <p>
                <label for="login-password">{t(lang, "Password", "비밀번호")}</label>
                <input id="login-password" name="password" type="password" autocomplete="current-password" required/>
            </p>
            <button type="submit">{t(lang, "Sign in", "로그인")}</button>
        </form>
    }
}
