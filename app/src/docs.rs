//! `/api/docs` (interactive reference over the live OpenAPI document) and
//! `/api/docs/problems` (every problem and field code, rendered from the kernel's catalogue).

use crate::static_files::asset_url;
use askama::Template;
use askama_web::WebTemplate;
use kernel::{FieldCode, ProblemCode};
use poem::handler;

#[derive(Template, WebTemplate)]
#[template(path = "docs/index.html")]
struct IndexPage {
    docs_css: String,
    swagger_css: String,
    swagger_js: String,
    init_js: String,
}

#[handler]
pub fn index() -> impl poem::IntoResponse {
    IndexPage {
        docs_css: asset_url("docs/docs.css"),
        swagger_css: asset_url("vendor/swagger-ui/swagger-ui.css"),
        swagger_js: asset_url("vendor/swagger-ui/swagger-ui-bundle.js"),
        init_js: asset_url("docs/init.js"),
    }
}

struct ProblemEntry {
    code: &'static str,
    status: u16,
    title: &'static str,
    description: &'static str,
}

struct FieldEntry {
    code: &'static str,
    description: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "docs/problems.html")]
struct ProblemsPage {
    docs_css: String,
    problems: Vec<ProblemEntry>,
    fields: Vec<FieldEntry>,
}

#[handler]
pub fn problems() -> impl poem::IntoResponse {
    ProblemsPage {
        docs_css: asset_url("docs/docs.css"),
        problems: ProblemCode::ALL
            .iter()
            .map(|c| ProblemEntry {
                code: c.as_str(),
                status: c.status(),
                title: c.title(),
                description: c.description(),
            })
            .collect(),
        fields: FieldCode::ALL
            .iter()
            .map(|c| FieldEntry {
                code: c.as_str(),
                description: c.description(),
            })
            .collect(),
    }
}
