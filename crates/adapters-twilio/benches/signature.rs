//! Validating the signature of a realistic inbound `WhatsApp` webhook (17 parameters), the work
//! done on every inbound message and status callback before anything else.

use std::hint::black_box;

use adapters_twilio::signature::{compute_signature, public_url, validate};
use criterion::{Criterion, criterion_group, criterion_main};
use domain::SecretString;

fn inbound_webhook() -> Vec<(String, String)> {
    [
        ("SmsMessageSid", "SM7d3c0e9f4b2a4c1d8e6f5a4b3c2d1e0f"),
        ("NumMedia", "1"),
        ("ProfileName", "Maria Souza"),
        ("MessageType", "image"),
        ("SmsSid", "SM7d3c0e9f4b2a4c1d8e6f5a4b3c2d1e0f"),
        ("WaId", "5511999998888"),
        ("SmsStatus", "received"),
        ("Body", "Oi! Meu pedido chegou com a caixa amassada, segue a foto 📦 Podem trocar?"),
        ("To", "whatsapp:+14155238886"),
        ("MediaContentType0", "image/jpeg"),
        ("NumSegments", "1"),
        ("ReferralNumMedia", "0"),
        ("MessageSid", "SM7d3c0e9f4b2a4c1d8e6f5a4b3c2d1e0f"),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", "whatsapp:+5511999998888"),
        (
            "MediaUrl0",
            "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM7d3c0e9f4b2a4c1d8e6f5a4b3c2d1e0f/Media/ME0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        ),
        ("ApiVersion", "2010-04-01"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

fn bench_signature(c: &mut Criterion) {
    let token = SecretString::new("0123456789abcdef0123456789abcdef");
    let url = public_url("https://conversa.example.com", "/webhooks/twilio/inbound");
    let params = inbound_webhook();
    let signature = compute_signature(&token, &url, &params);
    assert!(validate(&token, &url, &params, &signature));

    c.bench_function("validate_inbound_webhook_signature_17_params", |b| {
        b.iter(|| validate(black_box(&token), black_box(&url), black_box(&params), black_box(&signature)));
    });
}

criterion_group!(benches, bench_signature);
criterion_main!(benches);
