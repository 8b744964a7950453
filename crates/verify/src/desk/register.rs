//! The guest register: check-in of a verified upgraded guest (room, dates, and the claims
//! the desk verified itself, never claims sent by the browser), the list and the CSV export
//! for the authorities. Everything here needs a staff session.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::problem::Problem;
use super::request::{AppState, csrf, json, staff, unknown_verification};
use super::store::Guest;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckIn {
    verification: String,
    room: String,
    arrival: String,
    departure: String,
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && matches!(s[5..7].parse::<u8>(), Ok(1..=12))
        && matches!(s[8..10].parse::<u8>(), Ok(1..=31))
}

pub(super) async fn check_in(
    State(desk): State<AppState>,
    headers: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    csrf(&headers)?;
    let who = staff(&desk, &headers).await?;
    let req: CheckIn = json(b)?;
    let room = req.room.trim();
    if room.is_empty() || room.chars().count() > 20 || room.chars().any(char::is_control) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_room",
            "the room must be 1 to 20 characters",
        ));
    }
    if !is_date(&req.arrival) || !is_date(&req.departure) || req.departure < req.arrival {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_dates",
            "arrival and departure must be dates (YYYY-MM-DD), departure not before arrival",
        ));
    }
    let now = desk.now();
    // One check-in per verification: the handle is used up, unless the venue's face rule
    // refuses it (then it stays for a face check and a second try).
    let pending = {
        let mut pending = desk.pending.lock().unwrap_or_else(|p| p.into_inner());
        let found = pending
            .get(&req.verification)
            .filter(|p| p.expires_at > now)
            .ok_or_else(unknown_verification)?;
        let same_person = found
            .face_check
            .is_some_and(|f| f.outcome == tessera_face::comparison::Outcome::SamePerson);
        if desk.policy.require_face_match && !same_person {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "face_check_required",
                "this venue checks in a guest only after the face check says Same person: \
                 check the guest's face first",
            ));
        }
        pending
            .remove(&req.verification)
            .ok_or_else(unknown_verification)?
    };
    let face = pending.face_check;
    let c = pending.claims;
    let guest = Guest {
        id: 0,
        checked_in_at: i64::try_from(now).unwrap_or(i64::MAX),
        staff: who,
        room: room.to_owned(),
        arrival: req.arrival,
        departure: req.departure,
        full_name: c.full_name,
        id_number: c.id_number,
        date_of_birth: c.date_of_birth,
        // As in machine-readable travel documents (ICAO 9303): X for neither.
        sex: match c.gender {
            tessera_credential::Gender::Male => "M",
            tessera_credential::Gender::Female => "F",
            tessera_credential::Gender::Other => "X",
        }
        .to_owned(),
        face_check: face.map(|f| f.outcome_name().to_owned()),
        face_similarity: face.and_then(|f| f.similarity).map(f64::from),
    };
    let id = desk
        .store
        .add_guest(&guest)
        .await
        .map_err(Problem::internal)?;
    tracing::info!(event = "check_in", "guest registered");
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({"id": id})),
    )
        .into_response())
}

pub(super) async fn list_checkins(
    State(desk): State<AppState>,
    headers: HeaderMap,
) -> Result<axum::Json<Vec<Guest>>, Problem> {
    staff(&desk, &headers).await?;
    Ok(axum::Json(
        desk.store.guests().await.map_err(Problem::internal)?,
    ))
}

/// A cell a spreadsheet will not run as a formula.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

pub(super) async fn export_csv(
    State(desk): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    staff(&desk, &headers).await?;
    let guests = desk.store.guests().await.map_err(Problem::internal)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let header_row = [
        "checked_in_at",
        "room",
        "arrival",
        "departure",
        "full_name",
        "id_number",
        "date_of_birth",
        "sex",
        "staff",
        "face_check",
        "face_similarity",
    ];
    w.write_record(header_row).map_err(Problem::internal)?;
    for g in guests.iter().rev() {
        w.write_record([
            g.checked_in_at.to_string(),
            cell(&g.room),
            g.arrival.clone(),
            g.departure.clone(),
            cell(&g.full_name),
            cell(&g.id_number),
            cell(&g.date_of_birth),
            g.sex.clone(),
            cell(&g.staff),
            g.face_check.clone().unwrap_or_default(),
            g.face_similarity
                .map(|s| format!("{s:.3}"))
                .unwrap_or_default(),
        ])
        .map_err(Problem::internal)?;
    }
    let bytes = w.into_inner().map_err(Problem::internal)?;
    tracing::info!(event = "export", rows = guests.len(), "register exported");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"guest-register.csv\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked() {
        assert!(is_date("2026-11-25"));
        for bad in [
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "26-11-25",
            "2026/11/25",
            "２０２６-11-25",
            "",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn csv_cells_cannot_be_formulas() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("1208"), "1208");
        assert_eq!(cell("王小明"), "王小明");
    }
}
