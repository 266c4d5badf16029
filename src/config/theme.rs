//! `[theme]`: a directory of templates and static files over the built-in
//! theme.

use serde::Deserialize;

use super::values::Optional;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub dir: Optional,
}
