//! Closure detection benchmarks.
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use std::hint::black_box;

use chrono::{Duration, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use domain::closure::{ClosureConfig, ClosureDetector, Speaker, Turn};

/// A realistic 20-turn pt-BR support conversation ending with a declined closing question.
const CONVERSATION: [(Speaker, &str); 20] = [
    (Speaker::Customer, "Oi, boa tarde! Tudo bem?"),
    (Speaker::Business, "Boa tarde! Tudo ótimo, e com você? Sou a Ana, em que posso ajudar?"),
    (Speaker::Customer, "Fiz um pedido semana passada e ainda não chegou"),
    (Speaker::Business, "Poxa, sinto muito! Pode me passar o número do pedido, por favor?"),
    (Speaker::Customer, "É o 48213-7"),
    (Speaker::Business, "Obrigada! Um momento enquanto verifico no sistema."),
    (Speaker::Business, "Encontrei aqui: o pedido ficou retido no centro de distribuição de Cajamar."),
    (Speaker::Customer, "Nossa, e agora? Preciso dele até sexta 😟"),
    (Speaker::Business, "Já solicitei a liberação com prioridade. A nova previsão é quinta-feira."),
    (Speaker::Customer, "Ufa, quinta dá certo. Vou receber o código de rastreio novo?"),
    (Speaker::Business, "Sim! Ele chega por SMS e e-mail em até 2 horas."),
    (Speaker::Customer, "Ótimo. E o frete, vou ter que pagar de novo?"),
    (Speaker::Business, "Não, de jeito nenhum. Como houve atraso, também estornamos o frete."),
    (Speaker::Customer, "Que maravilha, não esperava por isso"),
    (Speaker::Business, "O estorno aparece na próxima fatura do cartão."),
    (Speaker::Customer, "Perfeito, entendi"),
    (Speaker::Business, "Recebeu o SMS com o rastreio?"),
    (Speaker::Customer, "Chegou agora, tudo certo!"),
    (Speaker::Business, "Que bom! Posso ajudar em algo mais?"),
    (Speaker::Customer, "Não, era só isso mesmo. Muito obrigado pela ajuda, Ana! Até mais 👋"),
];

fn bench_closure(c: &mut Criterion) {
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 14, 0, 0).unwrap();
    let turns: Vec<Turn<'_>> = CONVERSATION
        .iter()
        .zip(0..)
        .map(|((speaker, text), i)| Turn::new(*speaker, text, start + Duration::seconds(45 * i)))
        .collect();
    let now = start + Duration::minutes(20);

    let detector = ClosureDetector::new(ClosureConfig::default());
    assert!(detector.assess(&turns, now).should_close);
    c.bench_function("assess_20_message_conversation", |b| {
        b.iter(|| detector.assess(black_box(&turns), black_box(now)));
    });

    let all_turns = ClosureDetector::new(ClosureConfig { window: 20, ..ClosureConfig::default() });
    c.bench_function("assess_20_message_conversation_window_20", |b| {
        b.iter(|| all_turns.assess(black_box(&turns), black_box(now)));
    });

    c.bench_function("detector_construction", |b| {
        b.iter(|| ClosureDetector::new(black_box(ClosureConfig::default())));
    });
}

criterion_group!(benches, bench_closure);
criterion_main!(benches);
