//! paylican: demo flow and webhook verification (placeholder: to be written).

use serde_json::Value;

use crate::demo::DemoContext;
use crate::flow::{Failed, Flow};
use crate::verify::{VerifyError, VerifyInput};

pub(crate) async fn demo(_ctx: &DemoContext<'_>, flow: &mut Flow) -> Result<(), Failed> {
    flow.step::<(), _>("create", async { Err("not implemented yet".to_owned()) })
        .await
}

pub(crate) async fn verify(_input: &VerifyInput) -> Result<Value, VerifyError> {
    Err(VerifyError::Usage("not implemented yet".to_owned()))
}
