//! Responses: signature verification (Digest, Keygen-Signature, Date) and
//! the parsing of what a verified body says (validation answers, license
//! and machine resources, Keygen error documents).
//!
//! Input: see `lic_fuzz::Exchange` (a flags byte, a status byte, six header
//! lines, the body). The seeds are real exchanges with lic-devserver signed
//! with the fuzzer's key; with the RESIGN flag the target signs the
//! (mutated) exchange itself first, so the parsing behind a valid signature
//! sees arbitrary bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lic::model::{LicenseInfo, LicenseResource, MachineInfo};
use lic::protocol::errors::{first_error, map_error_document};
use lic::protocol::signature::{parse_signature_header, verify_response, RequestInfo};
use lic_fuzz::*;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some(mut ex) = Exchange::parse(data) else {
        return;
    };
    if let Some(h) = &ex.signature {
        let _ = parse_signature_header(h);
    }
    if ex.flags & RESIGN != 0 {
        ex.resign("Tue, 01 Dec 2026 23:50:44 GMT");
    }
    let host_without_port = ex.host.rsplit_once(':').map(|(h, _)| h.to_string());
    let req = RequestInfo {
        method: &ex.method,
        target: &ex.target,
        host: &ex.host,
        host_without_port: host_without_port.as_deref(),
        port_first: ex.flags & PORT_FIRST != 0,
        account_id: FUZZ_ACCOUNT,
    };
    let verified = verify_response(
        &fuzz_public_key(),
        &req,
        &ex.body,
        ex.date.as_deref(),
        ex.digest.as_deref(),
        ex.signature.as_deref(),
    );
    if ex.flags & RESIGN != 0 {
        // What the target signed itself verifies, unless the Date is not a date.
        if let Err(e) = &verified {
            let date = ex.date.as_deref().unwrap_or_default();
            assert!(
                lic::time::parse_http_date(date).is_none(),
                "a re-signed exchange is refused: {e:?} (Date {date:?})"
            );
        }
    }
    let Ok((material, _date, _with_port)) = verified else {
        return;
    };
    assert_eq!(material.body, ex.body);

    // What lic reads from a verified body.
    let Ok(doc) = serde_json::from_slice::<Value>(&ex.body) else {
        return;
    };
    let _ = first_error(&doc);
    let e = map_error_document(ex.status, &doc);
    let _ = e.message.len();
    if let Some(data) = doc.get("data") {
        let _ = LicenseInfo::from_resource(data);
        let _ = MachineInfo::from_resource(data);
        if let Some(items) = data.as_array() {
            for item in items {
                let _ = MachineInfo::from_resource(item);
            }
        }
        if let Ok(resource) = serde_json::from_value::<LicenseResource>(data.clone()) {
            let _ = LicenseInfo::from(resource);
        }
    }
    if let Some(ts) = doc.pointer("/meta/ts").and_then(Value::as_str) {
        let _ = lic::time::parse_rfc3339(ts);
    }
});
