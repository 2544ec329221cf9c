// ChildProcess lives in ProcessSupport (the experiment harness starts its services with it
// too); re-exported so that every test importing LabTestSupport keeps using it as before.
@_exported import ProcessSupport
