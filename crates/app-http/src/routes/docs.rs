//! `/openapi.json` and a Swagger UI at `/docs`, served from assets vendored in this crate
//! (swagger-ui-dist), so nothing is fetched from a CDN.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, get, web};

use crate::openapi::ApiDocument;

const BUNDLE: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
const CSS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");
const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Conversa API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });</script>
</body>
</html>"##;

/// The OpenAPI 3.1 document (this one).
#[utoipa::path(
    operation_id = "openapi_document",responses((status = 200, description = "The OpenAPI document", content_type = "application/json")), tag = "documentation")]
#[get("/openapi.json")]
pub async fn openapi(document: web::Data<ApiDocument>) -> HttpResponse {
    HttpResponse::Ok().insert_header((CONTENT_TYPE, "application/json")).body(document.0.clone())
}

/// Swagger UI, served from vendored assets.
#[utoipa::path(
    operation_id = "swagger_ui",responses((status = 200, description = "An HTML page", content_type = "text/html")), tag = "documentation")]
#[get("/docs")]
pub async fn page() -> HttpResponse {
    HttpResponse::Ok().insert_header((CONTENT_TYPE, "text/html; charset=utf-8")).body(PAGE)
}

/// Swagger UI's script.
#[utoipa::path(
    operation_id = "swagger_ui_bundle",responses((status = 200, description = "JavaScript", content_type = "application/javascript")), tag = "documentation")]
#[get("/docs/swagger-ui-bundle.js")]
pub async fn bundle() -> HttpResponse {
    asset("application/javascript", BUNDLE)
}

/// Swagger UI's stylesheet.
#[utoipa::path(
    operation_id = "swagger_ui_css",responses((status = 200, description = "CSS", content_type = "text/css")), tag = "documentation")]
#[get("/docs/swagger-ui.css")]
pub async fn css() -> HttpResponse {
    asset("text/css", CSS)
}

fn asset(content_type: &'static str, bytes: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((CACHE_CONTROL, "public, max-age=86400"))
        .body(bytes)
}
