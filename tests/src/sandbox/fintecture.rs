//! Fintecture against the sandbox: the real `FintectureClient` (client credentials, every call
//! signed with the sandbox-generated application key), webhooks sent to the console-configured
//! URL (`set_webhook_url`) and verified by RSA-OAEP decryption with the same key
//! (`payments_sandbox::hooks::fintecture`).

pub use payments_sandbox::hooks::fintecture::FintectureHooks as FintectureSandboxHarness;
