//! The office's export (docs/followup.md, "Export"): one row per question with its case, as
//! office staff read it in Excel: times in the office's time zone, speakers by name, the
//! tracking code, the case, the history; the contact only for the office (admin token). As
//! XLSX, or as CSV that Excel with Indonesian settings opens as it is (UTF-8 with a BOM, `;`).
//! Every cell is text, never a formula.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::TimeZone;

use super::api::{ApiError, spreadsheet_safe};
use crate::domain::followup::{By, ByRole, CaseDoc, HistoryStep, tracking_code};
use crate::domain::{SessionState, Speaker};
use crate::store::Agency;

/// The column headers, in Indonesian (the office's language); `Kontak` last, office only.
pub const COLUMNS: [&str; 25] = [
    "No",
    "Waktu",
    "Kode lacak",
    "Sumber",
    "Saluran",
    "Nama",
    "Media",
    "Untuk",
    "Pertanyaan",
    "Teks asli",
    "Status siaran",
    "Dukungan",
    "Penanda",
    "Topik",
    "Kecamatan",
    "Kelurahan",
    "Status tindak lanjut",
    "Instansi",
    "Tenggat",
    "Jawaban",
    "Alasan",
    "Publik",
    "Riwayat",
    "Diperbarui",
    "Kontak",
];

/// The export's rows (header first) from a session's state. `contacts`: the office's export.
pub fn rows(
    state: &SessionState,
    agencies: &[Agency],
    tz: chrono_tz::Tz,
    contacts: bool,
) -> Vec<Vec<String>> {
    let ncol = if contacts {
        COLUMNS.len()
    } else {
        COLUMNS.len() - 1
    };
    let mut out = vec![COLUMNS[..ncol].iter().map(|c| c.to_string()).collect()];
    let time = |ms: i64| {
        tz.timestamp_millis_opt(ms)
            .single()
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    let speaker = |id: &Option<String>| -> String {
        match id {
            None => String::new(),
            Some(id) => state
                .info
                .speakers
                .iter()
                .find(|s: &&Speaker| &s.id == id)
                .map_or_else(|| id.clone(), |s| format!("{} ({})", s.name, s.role)),
        }
    };
    let agency = |id: &Option<String>| -> String {
        id.as_ref().map_or(String::new(), |id| {
            agencies
                .iter()
                .find(|a| &a.id == id)
                .map_or_else(|| id.clone(), |a| a.short.clone())
        })
    };
    for (i, q) in state.questions().enumerate() {
        let d: CaseDoc = crate::hub::followup::case_doc(state, q);
        let c = &d.case;
        let history = state
            .history(q.id)
            .iter()
            .map(|h| step(h, &time, &agency))
            .collect::<Vec<_>>()
            .join("; ");
        let mut row = vec![
            (i + 1).to_string(),
            time(q.created_at),
            tracking_code(q.id),
            word(&q.source),
            q.channel.as_ref().map(word).unwrap_or_default(),
            q.name.clone().unwrap_or_default(),
            q.outlet.clone().unwrap_or_default(),
            speaker(&q.to),
            q.text.clone(),
            q.original_text.clone().unwrap_or_default(),
            q.status.as_str().to_string(),
            state.votes(q.id).to_string(),
            q.flags.join(", "),
            q.topic.clone().unwrap_or_default(),
            q.place
                .as_ref()
                .map(|p| p.kecamatan.clone())
                .unwrap_or_default(),
            q.place
                .as_ref()
                .and_then(|p| p.kelurahan.clone())
                .unwrap_or_default(),
            c.status.as_str().to_string(),
            agency(&c.agency),
            c.due.map(|d| d.to_string()).unwrap_or_default(),
            c.answer.clone().unwrap_or_default(),
            c.reason.clone().unwrap_or_default(),
            if c.public { "ya" } else { "" }.to_string(),
            history,
            time(q.updated_at),
        ];
        if contacts {
            row.push(q.contact.clone().unwrap_or_default());
        }
        out.push(row);
    }
    out
}

fn word<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// One history step as a short line: "2026-12-05 14:03 forward PUPR (Rina, moderator)".
fn step(
    h: &HistoryStep,
    time: &dyn Fn(i64) -> String,
    agency: &dyn Fn(&Option<String>) -> String,
) -> String {
    let who = h.by.as_ref().map(|b: &By| {
        let role = match b.role {
            ByRole::Moderator => "moderator".to_string(),
            ByRole::Office => "humas".to_string(),
            ByRole::Agency => agency(&b.agency),
            ByRole::Desk => "desk".to_string(),
            ByRole::Gateway => "gateway".to_string(),
        };
        match &b.name {
            Some(n) => format!(" ({n}, {role})"),
            None => format!(" ({role})"),
        }
    });
    let status = h
        .case_status
        .map(|s| format!(" → {}", s.as_str()))
        .unwrap_or_default();
    format!(
        "{} {}{}{}",
        time(h.at),
        h.action,
        status,
        who.unwrap_or_default()
    )
}

/// The rows as CSV: a UTF-8 BOM, `sep` between cells, every cell spreadsheet-safe.
pub fn csv(rows: &[Vec<String>], sep: u8) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(sep)
        .from_writer(vec![0xEF, 0xBB, 0xBF]);
    for r in rows {
        w.write_record(r.iter().map(|c| spreadsheet_safe(c)))?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The rows as an XLSX workbook: one sheet, header bold and frozen, a filter, every cell a
/// string (never a formula).
pub fn xlsx(rows: &[Vec<String>], title: &str) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let sheet: String = title
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .take(31)
        .collect();
    if !sheet.trim().is_empty() {
        ws.set_name(sheet.trim())?;
    }
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            if r == 0 {
                ws.write_string_with_format(r, c, cell, &bold)?;
            } else {
                ws.write_string_with_format(r, c, cell, &wrap)?;
            }
        }
    }
    let ncol = rows.first().map_or(0, Vec::len) as u16;
    for c in 0..ncol {
        let width = match COLUMNS.get(c as usize) {
            Some(&"Pertanyaan") | Some(&"Jawaban") | Some(&"Riwayat") | Some(&"Teks asli") => 50.0,
            Some(&"No") | Some(&"Dukungan") => 6.0,
            _ => 16.0,
        };
        ws.set_column_width(c, width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    if ncol > 0 {
        ws.autofilter(0, 0, rows.len().saturating_sub(1) as u32, ncol - 1)?;
    }
    wb.save_to_buffer()
}

/// A download.
pub fn download(bytes: Vec<u8>, mime: &str, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// A failure to build the file: logged, a 500 that says little.
pub fn failed(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "export");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
}
