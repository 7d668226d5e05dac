//! The HTTP side: the page and its static assets (embedded in the binary),
//! `POST /api/inspect` (what a request is about, no network) and
//! `POST /api/activate` (the whole flow), the request log, and the headers
//! every response carries.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::flow::{self, Settings};
use crate::log::{Note, RequestLog};

/// The vendored QR decoder (npm `jsqr`, see assets/vendor/README.md).
pub const JSQR_VERSION: &str = "1.4.0";

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const STYLE_CSS: &str = include_str!("../assets/style.css");
const JSQR_JS: &str = include_str!("../assets/vendor/jsqr-1.4.0/jsQR.js");
const JSQR_LICENSE: &str = include_str!("../assets/vendor/jsqr-1.4.0/LICENSE");

/// The page may load only its own scripts and styles; images and video from
/// the camera and uploads come as blob: URLs or straight into a canvas.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub log: Arc<RequestLog>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { page(INDEX_HTML) }))
        .route(
            "/static/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/static/style.css",
            get(|| async { asset(STYLE_CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/static/jsqr-1.4.0/jsQR.js",
            get(|| async { asset(JSQR_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/static/jsqr-1.4.0/LICENSE",
            get(|| async { asset(JSQR_LICENSE, "text/plain; charset=utf-8") }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/inspect", post(inspect))
        .route("/api/activate", post(activate))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        // A request is a few hundred bytes; nothing needs more than this.
        .layer(DefaultBodyLimit::max(16 * 1024))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            log_and_harden,
        ))
        .with_state(state)
}

fn page(html: &'static str) -> Response {
    let mut r = asset(html, "text/html; charset=utf-8");
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// `{"request": "<the request text, either form>"}`.
#[derive(Deserialize)]
struct RequestBody {
    request: String,
}

/// What a request is about, for the page to show before it activates
/// anything. 200 with the machine's summary, or 422 with an outcome that
/// says why the text is not a request.
async fn inspect(Json(body): Json<RequestBody>) -> Response {
    match flow::inspect(&body.request) {
        Ok(summary) => {
            let note = Note {
                outcome: None,
                fingerprint: Some(summary.fingerprint.clone()),
            };
            with_note(Json(summary).into_response(), note)
        }
        Err(outcome) => {
            let note = Note {
                outcome: Some(outcome.outcome.as_str()),
                fingerprint: None,
            };
            with_note(
                (StatusCode::UNPROCESSABLE_ENTITY, Json(outcome)).into_response(),
                note,
            )
        }
    }
}

/// The whole flow. The outcome (activated, refused, …) is data: 200 whatever
/// the license server said.
async fn activate(State(state): State<AppState>, Json(body): Json<RequestBody>) -> Response {
    let settings = state.settings.clone();
    let done = tokio::task::spawn_blocking(move || flow::activate(&settings, &body.request)).await;
    match done {
        Ok(outcome) => {
            let note = Note {
                outcome: Some(outcome.outcome.as_str()),
                fingerprint: outcome.machine.as_ref().map(|m| m.fingerprint.clone()),
            };
            with_note(Json(outcome).into_response(), note)
        }
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error: the activation did not finish (a bug in lic-portal)\n",
        )
            .into_response(),
    }
}

fn with_note(mut r: Response, note: Note) -> Response {
    r.extensions_mut().insert(note);
    r
}

/// Logs every request (path only: never the query, never the body) and adds
/// the security headers.
async fn log_and_harden(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let mut r = next.run(req).await;
    let note = r.extensions_mut().remove::<Note>().unwrap_or_default();
    state.log.request(
        method.as_str(),
        &path,
        r.status().as_u16(),
        start.elapsed().as_millis() as u64,
        &note,
    );
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The camera is this page's own business; nothing else is used.
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
    );
    if method == Method::POST {
        // Answers hold a machine file: no cache keeps them.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}
