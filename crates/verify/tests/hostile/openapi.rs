//! The desk's OpenAPI document (`src/desk/openapi.json`, served at `GET /openapi.json`)
//! against the code: an OpenAPI 3.1 shape whose references all resolve; exactly the routes
//! of `api.rs`'s router with their methods; exactly the problem codes the desk's sources
//! answer (`Problem::new(StatusCode::X, "code"`), each with its status; exactly the verdict
//! codes; and, on a running desk, the document served as is and real answers (session,
//! login, verdicts, problems, check-in, register) fitting their schemas.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::seed::Codes;
use crate::{NOW, seeded_desk};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = crate_dir().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn document() -> Value {
    serde_json::from_str(&read("src/desk/openapi.json")).expect("openapi.json is not JSON")
}

/// Every `.rs` file of `src/desk/`, with its name.
fn desk_sources() -> Vec<(String, String)> {
    let dir = crate_dir().join("src/desk");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The text from `open` (just after an opening parenthesis) to its matching `)`.
fn balanced(text: &str) -> &str {
    let mut depth = 1;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses in {text:.80}");
}

/// The first string literal in `text`.
fn first_literal(text: &str) -> &str {
    let start = text.find('"').expect("a string literal") + 1;
    let len = text[start..].find('"').expect("a closed string literal");
    &text[start..start + len]
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `(path, method)` of every `.route("…", get(…).post(…))` in `api.rs`.
fn router_routes() -> BTreeSet<(String, String)> {
    let api = read("src/desk/api.rs");
    let mut routes = BTreeSet::new();
    for (at, _) in api.match_indices(".route(") {
        let args = balanced(&api[at + ".route(".len()..]);
        let path = first_literal(args).to_owned();
        let mut found = false;
        for method in ["get", "post", "put", "patch", "delete", "head", "options"] {
            let call = format!("{method}(");
            for (i, _) in args.match_indices(&call) {
                if !args[..i].ends_with(is_ident) {
                    routes.insert((path.clone(), method.to_owned()));
                    found = true;
                }
            }
        }
        assert!(found, "no method found for the route {path}");
    }
    assert!(
        routes.len() >= 16,
        "the scan of api.rs found only {routes:?}"
    );
    routes
}

/// The status a `StatusCode::NAME` constant stands for.
fn status_of(name: &str) -> u16 {
    (100..=599)
        .find(|&n| {
            reqwest::StatusCode::from_u16(n)
                .ok()
                .and_then(|s| s.canonical_reason())
                .is_some_and(|r| {
                    r.to_ascii_uppercase()
                        .replace([' ', '-'], "_")
                        .replace('\'', "")
                        == name
                })
        })
        .unwrap_or_else(|| panic!("unknown status constant StatusCode::{name}"))
}

/// `(code, status)` of every `Problem::new(StatusCode::X, "code", …)` under `src/desk/`,
/// calls over several lines included.
fn problem_uses() -> BTreeSet<(String, u16)> {
    let mut uses = BTreeSet::new();
    for (file, text) in desk_sources() {
        for (at, _) in text.match_indices("Problem::new(") {
            let args = balanced(&text[at + "Problem::new(".len()..]);
            let (status, rest) = args.split_once(',').unwrap_or_else(|| {
                panic!("{file}: Problem::new({args:.60}…) has no status argument")
            });
            let status = status.trim();
            let name = status.strip_prefix("StatusCode::").unwrap_or_else(|| {
                panic!(
                    "{file}: Problem::new({status}, …) — the status must be a StatusCode constant \
                     for this test to read it"
                )
            });
            let rest = rest.trim_start();
            assert!(
                rest.starts_with('"'),
                "{file}: Problem::new({status}, {rest:.40}…) — the code must be a string literal"
            );
            uses.insert((first_literal(rest).to_owned(), status_of(name)));
        }
    }
    assert!(uses.len() >= 20, "the scan found only {uses:?}");
    uses
}

/// Every verdict code: `DeskVerdict::invalid("…"` and `code: "…"` in `src/desk/`, and the
/// arms of `VerifyError::code` in `tessera-credential`.
fn verdict_codes() -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for (_, text) in desk_sources() {
        for (at, _) in text.match_indices("DeskVerdict::invalid(") {
            let args = balanced(&text[at + "DeskVerdict::invalid(".len()..]).trim_start();
            // `DeskVerdict::invalid(e.code(), …)`: the codes of `VerifyError`, read below.
            if args.starts_with('"') {
                codes.insert(first_literal(args).to_owned());
            }
        }
    }
    let verdict = read("src/desk/verdict.rs");
    for (at, _) in verdict.match_indices("code: \"") {
        codes.insert(first_literal(&verdict[at..]).to_owned());
    }
    let credential = read("../credential/src/verify.rs");
    let start = credential
        .find("pub fn code(&self) -> &'static str {")
        .expect("VerifyError::code in crates/credential/src/verify.rs");
    let body = &credential[start..];
    let body = &body[..body
        .find("\n    }\n")
        .expect("the end of VerifyError::code")];
    for (at, _) in body.match_indices("=> \"") {
        codes.insert(first_literal(&body[at..]).to_owned());
    }
    assert!(codes.len() >= 20, "the scan found only {codes:?}");
    codes
}

/// The serialised field names of `pub struct NAME { pub a: …, … }` in `file`.
fn struct_fields(file: &str, name: &str) -> BTreeSet<String> {
    let text = read(file);
    let start = text
        .find(&format!("pub struct {name} {{"))
        .unwrap_or_else(|| panic!("no struct {name} in {file}"));
    let body = &text[start..];
    let body = &body[..body.find("\n}\n").expect("the end of the struct")];
    let mut fields = BTreeSet::new();
    let mut rename = None;
    for line in body.lines().skip(1).map(str::trim) {
        if let Some(r) = line.strip_prefix("#[serde(rename = \"") {
            rename = Some(r[..r.find('"').unwrap()].to_owned());
        } else if let Some(field) = line.strip_prefix("pub ") {
            let field = &field[..field.find(':').expect("a field")];
            fields.insert(rename.take().unwrap_or_else(|| field.to_owned()));
        }
    }
    fields
}

/// The value at a local reference (`#/components/…`).
fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("{reference}: only local references"));
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("{reference} does not resolve"))
}

fn every_ref<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|v| every_ref(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| every_ref(v, out)),
        _ => {}
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// `(path, method, operation)` of the document.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        assert!(path.starts_with('/'), "path {path}");
        for (method, op) in item.as_object().expect("a path item is an object") {
            assert!(METHODS.contains(&method.as_str()), "{path}: {method}");
            ops.push((path.clone(), method.clone(), op));
        }
    }
    ops
}

#[test]
fn openapi_document_matches_the_router_and_the_problems() {
    let doc = document();

    // OpenAPI 3.1 in shape.
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "openapi: {}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let mut refs = Vec::new();
    every_ref(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        resolve(&doc, r);
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for (path, method, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap_or_else(|| {
            panic!("{method} {path} has no responses");
        });
        assert!(!responses.is_empty(), "{method} {path}");
        for status in responses.keys() {
            assert!(
                status.len() == 3 && status.parse::<u16>().is_ok(),
                "{method} {path}: response {status}"
            );
        }
        for requirement in op["security"].as_array().into_iter().flatten() {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(scheme), "{method} {path}: {scheme}");
            }
        }
    }
    // The security model's names are the code's.
    use tessera_verify::desk::auth;
    let named = |scheme: &str| {
        (
            schemes[scheme]["in"].as_str().unwrap().to_owned(),
            schemes[scheme]["name"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase(),
        )
    };
    assert_eq!(
        named("staffSession"),
        ("cookie".into(), auth::SESSION_COOKIE.into())
    );
    assert_eq!(
        named("csrfCookie"),
        ("cookie".into(), auth::CSRF_COOKIE.into())
    );
    assert_eq!(
        named("csrfHeader"),
        ("header".into(), auth::CSRF_HEADER.into())
    );

    // Exactly the router's routes and methods.
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(path, method, _)| (path, method))
        .collect();
    let routes = router_routes();
    assert!(routes.contains(&("/openapi.json".into(), "get".into())));
    let missing: Vec<_> = routes.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from openapi.json: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(
        extra.is_empty(),
        "openapi.json has no such routes: {extra:?}"
    );

    // Exactly the problem codes the sources answer, each with its status.
    let types = doc["x-problem-types"]
        .as_array()
        .expect("x-problem-types lists every problem");
    let mut listed = BTreeSet::new();
    for t in types {
        let code = t["code"].as_str().unwrap();
        let status = u16::try_from(t["status"].as_u64().unwrap()).unwrap();
        assert_eq!(t["type"], format!("urn:tessera:desk:{code}"), "{t}");
        assert_eq!(
            t["title"].as_str(),
            reqwest::StatusCode::from_u16(status)
                .unwrap()
                .canonical_reason(),
            "{t}"
        );
        assert!(
            t["description"].as_str().is_some_and(|d| d.len() > 20),
            "{t}"
        );
        assert!(
            listed.insert((code.to_owned(), status)),
            "{code} {status} twice"
        );
    }
    let used = problem_uses();
    let missing: Vec<_> = used.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "problems the desk answers but openapi.json does not list (code, status): {missing:?}"
    );
    let extra: Vec<_> = listed.difference(&used).collect();
    assert!(
        extra.is_empty(),
        "problems openapi.json lists but no source answers (code, status): {extra:?}"
    );
    let codes: BTreeSet<&str> = used.iter().map(|(c, _)| c.as_str()).collect();
    let problem = &doc["components"]["schemas"]["Problem"]["properties"];
    let enumerated = |field: &str| -> BTreeSet<String> {
        problem[field]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("Problem.{field} has no enum"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        enumerated("code"),
        codes.iter().map(|c| c.to_string()).collect()
    );
    assert_eq!(
        enumerated("type"),
        codes
            .iter()
            .map(|c| format!("urn:tessera:desk:{c}"))
            .collect()
    );

    // Each operation's problems: known codes, and a Problem response for each of their
    // statuses and for no other.
    let problem_ref = "#/components/responses/Problem";
    for (path, method, op) in operations(&doc) {
        let op_codes: Vec<&str> = op["x-problem-codes"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} has no x-problem-codes"))
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let mut statuses = BTreeSet::new();
        for code in &op_codes {
            assert!(
                codes.contains(code),
                "{method} {path}: unknown problem {code}"
            );
            statuses.extend(
                used.iter()
                    .filter(|(c, _)| c == code)
                    .map(|(_, s)| s.to_string()),
            );
        }
        if path != "/healthz" {
            assert!(op_codes.contains(&"unknown_host"), "{method} {path}");
        }
        let answered: BTreeSet<String> = op["responses"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| r["$ref"] == problem_ref)
            .map(|(s, _)| s.clone())
            .collect();
        assert_eq!(answered, statuses, "{method} {path}: problem statuses");
    }

    // Exactly the verdict codes.
    let documented: BTreeSet<String> =
        doc["components"]["schemas"]["DeskVerdict"]["properties"]["code"]["oneOf"]
            .as_array()
            .expect("DeskVerdict.code lists its values")
            .iter()
            .map(|v| v["const"].as_str().unwrap().to_owned())
            .collect();
    assert_eq!(documented, verdict_codes(), "DeskVerdict.code");

    // The answers' schemas have exactly the fields of the structs serialised.
    for (schema, file, name) in [
        ("DeskVerdict", "src/desk/verdict.rs", "DeskVerdict"),
        (
            "FaceCheckAnswer",
            "src/desk/face_check.rs",
            "FaceCheckAnswer",
        ),
        ("Guest", "src/desk/store.rs", "Guest"),
        ("Problem", "src/desk/problem.rs", "Problem"),
    ] {
        let documented: BTreeSet<String> = doc["components"]["schemas"][schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{schema} has no properties"))
            .keys()
            .cloned()
            .collect();
        assert_eq!(documented, struct_fields(file, name), "{schema}");
    }
}

/// Whether `value` fits `schema` (the parts of JSON Schema this document uses); the
/// reasons it does not.
fn fits(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(r) = schema["$ref"].as_str() {
        errors.extend(fits(doc, resolve(doc, r), value, at));
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        errors.push(format!("{at}: {value} is not {c}"));
    }
    if let Some(e) = schema["enum"].as_array()
        && !e.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {e:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let is = |t: &str| match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => panic!("type {t}"),
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        errors.push(format!("{at}: {value} is not {types:?}"));
    }
    if let Some(alternatives) = schema["oneOf"].as_array() {
        let matching = alternatives
            .iter()
            .filter(|s| fits(doc, s, value, at).is_empty())
            .count();
        if matching != 1 {
            errors.push(format!("{at}: {value} fits {matching} of oneOf"));
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(required.as_str().unwrap()) {
                errors.push(format!("{at}: no {required}"));
            }
        }
        let properties = schema["properties"].as_object();
        for (k, v) in object {
            match properties.and_then(|p| p.get(k)) {
                Some(s) => errors.extend(fits(doc, s, v, &format!("{at}.{k}"))),
                None if schema["additionalProperties"] == false => {
                    errors.push(format!("{at}: {k} is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            errors.extend(fits(doc, items, v, &format!("{at}[{i}]")));
        }
    }
    errors
}

/// The JSON schema of `path`'s `method` answer with `status`.
fn answer_schema<'a>(doc: &'a Value, path: &str, method: &str, status: u16) -> &'a Value {
    let mut r = &doc["paths"][path][method]["responses"][status.to_string()];
    if let Some(reference) = r["$ref"].as_str() {
        r = resolve(doc, reference);
    }
    let content = r["content"].as_object().unwrap_or_else(|| {
        panic!("{method} {path} {status}: no content in the document");
    });
    let (_, media) = content.iter().next().unwrap();
    &media["schema"]
}

async fn assert_fits(doc: &Value, path: &str, method: &str, r: reqwest::Response) -> Value {
    let status = r.status().as_u16();
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    let schema = answer_schema(doc, path, method, status);
    let errors = fits(doc, schema, &body, "body");
    assert!(errors.is_empty(), "{method} {path} {status}: {errors:?}");
    let expected = if schema["$ref"] == "#/components/schemas/Problem" {
        "application/problem+json"
    } else {
        "application/json"
    };
    assert_eq!(content_type, expected, "{method} {path} {status}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_serves_its_openapi_document_and_answers_fit_it() {
    let doc = document();
    let desk = seeded_desk("openapi", "").await;

    // Served as is, to anyone (no cookie, no session).
    let r = reqwest::Client::new()
        .get(format!("{}/openapi.json", desk.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.text().await.unwrap(), read("src/desk/openapi.json"));

    // Real answers fit the schemas the document gives them.
    let r = reqwest::Client::new()
        .get(format!("{}/healthz", desk.base))
        .send()
        .await
        .unwrap();
    assert_fits(&doc, "/healthz", "get", r).await;
    let mut t = desk.terminal().await;
    let session = assert_fits(
        &doc,
        "/api/session",
        "get",
        t.get("/api/session").send().await.unwrap(),
    )
    .await;
    assert_eq!(session["staff"], Value::Null);

    let mut codes = Codes::new(NOW + 5);
    let r = t
        .post("/api/verify")
        .json(&serde_json::json!({"text": codes.valid_upgraded()}))
        .send()
        .await
        .unwrap();
    let valid = assert_fits(&doc, "/api/verify", "post", r).await;
    assert_eq!(valid["code"], "valid", "{valid}");
    for text in [
        codes.lightweight(),
        codes.age_only(true),
        codes.age_only(false),
        codes.revoked(),
        "HELLO".to_owned(),
    ] {
        let r = t
            .post("/api/verify")
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .unwrap();
        assert_fits(&doc, "/api/verify", "post", r).await;
    }
    let mut white = Vec::new();
    image::DynamicImage::new_luma8(64, 64)
        .write_to(
            &mut std::io::Cursor::new(&mut white),
            image::ImageFormat::Png,
        )
        .unwrap();
    let r = t
        .post("/api/verify-image")
        .body(white)
        .send()
        .await
        .unwrap();
    let v = assert_fits(&doc, "/api/verify-image", "post", r).await;
    assert_eq!(v["code"], "no_qr_code");

    // Problems.
    let r = reqwest::Client::new()
        .post(format!("{}/api/verify", desk.base))
        .json(&serde_json::json!({"text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_fits(&doc, "/api/verify", "post", r).await["code"],
        "csrf"
    );
    let r = t.post("/api/verify").body("[]").send().await.unwrap();
    assert_eq!(
        assert_fits(&doc, "/api/verify", "post", r).await["code"],
        "bad_request"
    );
    let r = t.get("/api/checkins").send().await.unwrap();
    assert_eq!(
        assert_fits(&doc, "/api/checkins", "get", r).await["code"],
        "login_required"
    );
    let r = t.get("/no/such/page").send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().await.unwrap();
    let errors = fits(&doc, &doc["components"]["schemas"]["Problem"], &p, "body");
    assert!(
        errors.is_empty() && p["code"] == "not_found",
        "{p} {errors:?}"
    );
    // A known route asked with another method: the problem method_not_allowed, with
    // Allow; a path parameter that is not text: bad_request (axum's own answers, turned
    // into problem details like every other error).
    let r = t.get("/api/verify").send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().await.unwrap();
    let errors = fits(&doc, &doc["components"]["schemas"]["Problem"], &p, "body");
    assert!(
        errors.is_empty() && p["code"] == "method_not_allowed",
        "{p} {errors:?}"
    );
    let r = t.get("/api/portrait/%FF").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["code"], "bad_request", "{p}");

    // Staff: login, check-in, the register.
    desk.desk
        .store
        .set_staff(
            "alice",
            &tessera_verify::desk::auth::hash_password("correct horse battery").unwrap(),
            NOW,
        )
        .await
        .unwrap();
    let r = t
        .post("/api/login")
        .json(&serde_json::json!({"name": "alice", "password": "wrong password!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_fits(&doc, "/api/login", "post", r).await["code"],
        "bad_login"
    );
    let r = t
        .post("/api/login")
        .json(&serde_json::json!({"name": "alice", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_fits(&doc, "/api/login", "post", r).await;
    t.login("alice", "correct horse battery").await;
    let r = t
        .post("/api/checkins")
        .json(&serde_json::json!({
            "verification": valid["verification"],
            "room": "",
            "arrival": "2027-01-01",
            "departure": "2027-01-02",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_fits(&doc, "/api/checkins", "post", r).await["code"],
        "bad_room"
    );
    let r = t
        .post("/api/checkins")
        .json(&serde_json::json!({
            "verification": valid["verification"],
            "room": "101",
            "arrival": "2027-01-01",
            "departure": "2027-01-02",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_fits(&doc, "/api/checkins", "post", r).await;
    let r = t.get("/api/checkins").send().await.unwrap();
    let guests = assert_fits(&doc, "/api/checkins", "get", r).await;
    assert_eq!(guests.as_array().unwrap().len(), 1);
    let r = t.get("/api/portrait/abc").send().await.unwrap();
    assert_eq!(
        assert_fits(&doc, "/api/portrait/{id}", "get", r).await["code"],
        "no_issuer_key"
    );
    let session = assert_fits(
        &doc,
        "/api/session",
        "get",
        t.get("/api/session").send().await.unwrap(),
    )
    .await;
    assert_eq!(session["staff"], "alice");
    let r = t.post("/api/logout").send().await.unwrap();
    assert_eq!(r.status(), 204);

    // Another host name: refused, also for this document.
    let r = reqwest::Client::new()
        .get(format!("{}/openapi.json", desk.base))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_fits(&doc, "/openapi.json", "get", r).await["code"],
        "unknown_host"
    );
}
