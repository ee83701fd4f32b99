//! Writing a case's `[case.handshake]` table: the request edits, the refusal and the response.

use super::*;

/// HTTP status codes, as a list of numbers.
fn statuses_value(statuses: &[u16]) -> Value {
    Value::Array(statuses.iter().map(|s| Value::Int(u64::from(*s))).collect())
}

pub(super) fn pairs_value(pairs: &[(String, String)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(name, value)| Value::Array(vec![Value::str(name), Value::str(value)]))
            .collect(),
    )
}

pub(super) fn strings_value(strings: &[String]) -> Value {
    Value::Array(strings.iter().map(Value::str).collect())
}

/// The keys of a `[case.handshake]` table.
pub(super) fn handshake_entries(handshake: &Handshake) -> Vec<(&'static str, Value)> {
    let Handshake {
        request,
        write,
        pipelined,
        expect,
        then_connect,
        response,
    } = handshake;
    let mut table = Vec::new();
    match request {
        RequestSpec::Raw(raw) => table.push(("raw", Value::str(raw))),
        RequestSpec::Edit(edit) => {
            let RequestEdit {
                method,
                http_version,
                query,
                query_bytes,
                remove,
                set,
                add,
                filler_bytes,
                filler_fields,
                header_case,
            } = edit;
            if let Some(method) = method {
                table.push(("method", Value::str(method)));
            }
            if let Some(version) = http_version {
                table.push(("http_version", Value::str(version)));
            }
            if let Some(query) = query {
                table.push(("query", Value::str(query)));
            }
            if *query_bytes > 0 {
                table.push(("query_bytes", Value::Int(*query_bytes as u64)));
            }
            if !remove.is_empty() {
                table.push(("remove", strings_value(remove)));
            }
            if !set.is_empty() {
                table.push(("set", pairs_value(set)));
            }
            if !add.is_empty() {
                table.push(("add", pairs_value(add)));
            }
            if *filler_bytes > 0 {
                table.push(("filler_bytes", Value::Int(*filler_bytes as u64)));
            }
            if *filler_fields > 0 {
                table.push(("filler_fields", Value::Int(*filler_fields as u64)));
            }
            match header_case {
                HeaderCase::Canonical => {}
                HeaderCase::Lower => table.push(("header_case", Value::str("lower"))),
                HeaderCase::Upper => table.push(("header_case", Value::str("upper"))),
            }
        }
    }
    write_plan_entries(write, &mut table);
    if !pipelined.is_empty() {
        table.push(("pipelined", frames_value(pipelined)));
    }
    if let HandshakeExpect::Refuse(refusal) = expect {
        table.push(("refuse", refusal_value(refusal)));
    }
    if *then_connect {
        table.push(("then_connect", Value::Bool(true)));
    }
    match response {
        ResponseSpec::Upgrade => {}
        ResponseSpec::Raw(raw) => {
            table.push(("response", Value::Table(vec![("raw", Value::str(raw))])))
        }
        ResponseSpec::Edit(ResponseEdit {
            status,
            remove,
            set,
            add,
        }) => {
            let mut edit = Vec::new();
            if let Some(status) = status {
                edit.push(("status", Value::Int(u64::from(*status))));
            }
            if !remove.is_empty() {
                edit.push(("remove", strings_value(remove)));
            }
            if !set.is_empty() {
                edit.push(("set", pairs_value(set)));
            }
            if !add.is_empty() {
                edit.push(("add", pairs_value(add)));
            }
            table.push(("response", Value::Table(edit)));
        }
    }
    table
}

/// `refuse = true` for the default refusal, else a table of what differs from it.
pub(super) fn refusal_value(refusal: &Refusal) -> Value {
    let defaults = Refusal::default();
    if *refusal == defaults {
        return Value::Bool(true);
    }
    let Refusal {
        version_header,
        typical,
        if_upgraded,
        if_not_error,
        if_server_error,
        if_no_response,
    } = refusal;
    let mut table = Vec::new();
    if *version_header {
        table.push(("version_header", Value::Bool(true)));
    }
    if !typical.is_empty() {
        table.push(("typical", statuses_value(typical)));
    }
    for (key, value, default) in [
        ("if_upgraded", if_upgraded, defaults.if_upgraded),
        ("if_not_error", if_not_error, defaults.if_not_error),
        ("if_server_error", if_server_error, defaults.if_server_error),
        ("if_no_response", if_no_response, defaults.if_no_response),
    ] {
        if *value != default {
            table.push((key, Value::str(value.name())));
        }
    }
    Value::Table(table)
}
