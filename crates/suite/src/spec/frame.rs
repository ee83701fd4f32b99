//! The raw form of one frame in a case file (`send = { opcode = "text", fin = false }`), as serde
//! reads it, and its validation into a [`FrameSpec`].

use serde::Deserialize;

use super::payload::{OpcodeValue, RawPayload, parse_hex};
use super::yes;
use crate::case::{FrameSpec, LengthFormSpec, MaskSpec};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFrame {
    opcode: OpcodeValue,
    #[serde(default = "yes")]
    fin: bool,
    #[serde(default)]
    rsv: u8,
    #[serde(default)]
    mask: Option<String>,
    #[serde(default)]
    payload: Option<RawPayload>,
    #[serde(default)]
    length_form: Option<String>,
    #[serde(default)]
    declared_len: Option<u64>,
}

impl RawFrame {
    pub(super) fn into_frame(self) -> Result<FrameSpec, String> {
        if self.rsv > 7 {
            return Err(format!(
                "rsv {} is outside 0-7 (RSV1 = 4, RSV2 = 2, RSV3 = 1)",
                self.rsv
            ));
        }
        let mask = match self.mask.as_deref() {
            None | Some("auto") => MaskSpec::Auto,
            Some("none") => MaskSpec::None,
            Some("random") => MaskSpec::Random,
            Some("auto-zero") => MaskSpec::AutoZero,
            Some(hex) => {
                let key: [u8; 4] = parse_hex(hex)?.try_into().map_err(|_| {
                    format!("mask {hex:?} must be auto, none, random or 4 bytes of hex")
                })?;
                MaskSpec::Key(key)
            }
        };
        let length_form = match self.length_form.as_deref() {
            None => None,
            Some("short" | "7") => Some(LengthFormSpec::Short),
            Some("u16" | "16") => Some(LengthFormSpec::U16),
            Some("u64" | "64") => Some(LengthFormSpec::U64),
            Some(other) => return Err(format!("length_form {other:?} must be short, u16 or u64")),
        };
        Ok(FrameSpec {
            fin: self.fin,
            rsv: self.rsv,
            opcode: self.opcode.0,
            mask,
            payload: self
                .payload
                .map(RawPayload::into_payload)
                .transpose()?
                .unwrap_or_default(),
            length_form,
            declared_len: self.declared_len,
        })
    }
}
