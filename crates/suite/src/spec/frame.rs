//! The raw form of one frame in a case file (`send = { opcode = "text", fin = false }`): read and
//! validated into a [`FrameSpec`], and written back from one.

use serde::{Deserialize, Serialize};

use super::payload::{OpcodeValue, RawPayload, parse_hex, to_hex};
use super::{is_default, is_yes, yes};
use crate::case::{FrameSpec, LengthFormSpec, MaskSpec, Payload};

/// A frame: `send = FRAME`, `pipelined = FRAME`, or one of a list of them.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFrame {
    opcode: OpcodeValue,
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    fin: bool,
    #[serde(default, skip_serializing_if = "is_default")]
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

    /// The raw form of a frame: the opcode, and every other key that is not the default.
    pub(super) fn from_frame(frame: &FrameSpec) -> RawFrame {
        let FrameSpec {
            fin,
            rsv,
            opcode,
            mask,
            payload,
            length_form,
            declared_len,
        } = frame;
        let mask = match mask {
            MaskSpec::Auto => None,
            MaskSpec::None => Some("none".to_owned()),
            MaskSpec::Random => Some("random".to_owned()),
            MaskSpec::AutoZero => Some("auto-zero".to_owned()),
            MaskSpec::Key(key) => Some(to_hex(key)),
        };
        let length_form = length_form.map(|form| {
            match form {
                LengthFormSpec::Short => "short",
                LengthFormSpec::U16 => "u16",
                LengthFormSpec::U64 => "u64",
            }
            .to_owned()
        });
        RawFrame {
            opcode: OpcodeValue(*opcode),
            fin: *fin,
            rsv: *rsv,
            mask,
            payload: (*payload != Payload::default()).then(|| RawPayload::from_payload(payload)),
            length_form,
            declared_len: *declared_len,
        }
    }
}
