//! What every stage of the loader shares: the text of every file read (for positions), the
//! diagnostics found so far, the secrets met (to mask every output) and the load mode. A
//! leaf: stages take it by `&mut`, and it imports no stage.

use super::sink::Diags;
use crate::diag::Sources;
use crate::redact::Redactor;

/// `Run` needs every value; `Validate` checks structure and only warns about values that
/// come from the environment or the command line at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadMode {
    Run,
    Validate,
}

pub struct Ctx {
    pub sources: Sources,
    pub diags: Diags,
    pub redactor: Redactor,
    pub mode: LoadMode,
}

impl Ctx {
    pub fn new(mode: LoadMode) -> Self {
        Ctx { sources: Sources::default(), diags: Diags::default(), redactor: Redactor::default(), mode }
    }
}
