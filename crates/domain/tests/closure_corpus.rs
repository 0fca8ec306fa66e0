//! A labelled corpus of conversation endings (pt-BR, en, es) run through the default closure
//! detector: precision and recall must both reach 0.9.
//!
//! Each corpus line is `lang label quiet | X: text | X: text ...` where `label` is `close` or
//! `open` (keep open), `quiet` is the seconds between the last turn and the assessment (`-`
//! for 30), and `X` is `C` (customer) or `B` (business). Turns are 40 seconds apart.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::closure::{
    ClosureAssessment, ClosureConfig, ClosureDetector, ClosureStrategy, ConversationView, Signal, Speaker,
    Turn, default_strategies,
};

const CORPUS: &str = "
pt close - | B: Seu pedido foi entregue hoje às 10h. | C: Obrigado!
pt close - | B: Posso ajudar em algo mais? | C: Não, obrigada
pt close - | B: Prontinho, o boleto foi reenviado para o seu e-mail. | C: Recebi aqui, valeu!
pt close - | B: Mais alguma coisa? | C: só isso mesmo, obrigado
pt close 120 | C: Consegui pagar, obrigado pela ajuda
pt close - | B: Seu cadastro foi atualizado. | C: Perfeito, obrigado
pt close - | B: O reembolso cai em até 5 dias úteis. | C: Ok, obrigadoooo
pt close 300 | B: Enviamos a segunda via por SMS. | C: vlw
pt close - | C: Tchau, até amanhã
pt close - | B: Precisa de mais alguma coisa? | C: Não, era só isso. Tchau!
pt close - | C: obrigado | B: De nada! Até mais 😊
pt close - | B: Consegui te ajudar? | C: Sim, muito obrigado!
pt close - | B: Posso ajudar em algo mais? | C: nao nao, ta tudo certo
pt close - | B: Fiz o estorno da cobrança duplicada. | C: Resolvido, obg
pt close 900 | B: Sua assinatura foi renovada com sucesso. | C: 👍
pt close 1200 | B: Segue o código de rastreio: BR123456789. | C: 🙏🏽
pt close - | B: Seu acesso foi liberado, pode testar. | C: Funcionou! Valeu, falou!
pt close - | B: Algo mais? | C: Nada, obrigado
pt close - | B: Deu certo? | C: Deu sim! Obrigada
pt close - | C: Obrigado pela atenção, tenha um ótimo dia!
pt close - | B: Pronto, o endereço foi alterado. | C: Show, valeu
pt close - | B: O cupom é BEMVINDO10. | C: Era isso que eu precisava, obrigada ❤️
pt close - | B: Posso ajudar em mais alguma coisa? | C: Não, só isso. | C: Obrigado
pt close 3600 | C: Muito obrigado, até mais
pt close - | B: Seu chamado foi encerrado com a solução aplicada. | C: Blz, obrigado
pt close - | C: Brigadão!! Abraço
pt close - | B: Mais alguma dúvida? | C: Nenhuma, obrigado
pt close - | B: O técnico chega amanhã entre 8h e 12h. | C: Combinado, obrigado!
pt close - | B: A fatura vence dia 10. | C: ok, entendi. obrigado
pt close - | B: Algo mais em que eu possa ajudar? | C: não
pt close - | B: A taxa foi removida da sua conta. | C: agradeço a atenção
pt close - | C: Valeu pela paciência, resolvido aqui
pt close - | B: Posso ajudar em algo mais? | C: Por enquanto é só, obrigado
pt close - | B: Seu pedido já saiu para entrega. | C: Obrigado, boa noite
pt close - | C: Pode encerrar o atendimento, obrigado
pt close - | B: Tudo certo? | C: Tudo certo sim, valeu
pt close - | B: A entrega está prevista para sexta. | C: Certo, vou aguardar a entrega então. Obrigada!
pt close - | B: Alterei a forma de pagamento para Pix. | C: OBRIGADA!!! 😊😊
pt close - | B: Posso ajudar em algo mais? | C: Não, valeu. Bom fim de semana!
pt close 1800 | C: Obrigado pelo atendimento, resolveu meu problema | B: Ficamos felizes em ajudar!
pt open - | C: obrigado, mas ainda tenho uma dúvida
pt open - | B: Vamos encerrar o atendimento por inatividade. Tchau! | C: tchau? como assim?
pt open - | C: Recebi um e-mail dizendo que meu plano será cancelado | B: Isso acontece quando há pagamento pendente. | C: não quero cancelar
pt open - | C: oi, tudo bem?
pt open - | C: bom dia, preciso de ajuda
pt open - | B: Posso ajudar em algo mais? | C: Sim, quero saber o prazo de entrega
pt open - | C: Obrigado, mas o produto não funcionou
pt open - | B: Fiz a configuração remota. | C: não funcionou
pt open - | B: Tente reiniciar o aparelho. | C: Já tentei, continua dando erro
pt open - | C: Valeu! Ah, outra coisa: como troco a senha?
pt open - | B: Abri um chamado para o time técnico. | C: Obrigada! Fico no aguardo do retorno
pt open 600 | C: Meu pedido não chegou | B: Qual o número do pedido?
pt open - | C: obrigado | B: Por nada! Só preciso que você confirme seu CPF, pode me informar?
pt open - | C: Quero falar com um atendente
pt open - | C: Oi! Gostaria de saber se vocês entregam em Campinas
pt open - | B: Seu pedido foi enviado. | C: Mas o rastreio não atualiza desde ontem
pt open - | C: Até agora nada do reembolso
pt open - | B: Posso ajudar em algo mais? | C: Na verdade sim, meu boleto veio com valor errado
pt open - | C: Valeu, e também queria trocar o endereço de entrega
pt open - | C: Obrigado pela informação, mas não é isso que eu perguntei
pt open - | B: Consegui te ajudar? | C: Não, o problema continua
pt open - | C: brigado. pode me mandar a segunda via?
pt open - | B: O frete é grátis acima de R$ 200. | C: Ok, e quanto tempo demora?
pt open - | C: Estou esperando há 3 dias, isso é um absurdo
pt open - | C: Obrigado. Vocês abrem no sábado?
pt open - | B: Para prosseguir, envie uma foto do documento. | C: ok
pt open - | C: bom dia
pt open 900 | C: oi
pt open - | B: Posso ajudar em algo mais? | C: tenho sim, como faço para mudar meu plano?
pt open - | C: Valeu. Só mais uma coisa, vocês parcelam?
pt open - | C: Não consigo acessar o aplicativo
pt open - | B: Seu acesso foi liberado. | C: Obrigado! Porém o app ainda pede senha
pt open - | B: Deu certo? | C: Ainda não
pt open - | B: Verifique se o e-mail chegou na caixa de spam. | C: Obrigado, vou verificar e te retorno
pt open - | C: Não recebi o e-mail de confirmação
pt open - | C: Preciso do estorno | B: Vou transferir para o setor financeiro, aguarde um momento.
pt open - | C: Tchau não, quero resolver isso hoje
pt open - | B: Mais alguma coisa? | C: O desconto não foi aplicado na fatura
pt open - | B: Seu pedido foi cancelado. | C: Como assim cancelado? Eu não pedi isso
pt close - | B: Posso ajudar em algo mais? | C: não, obg
pt close - | B: Seu boleto foi gerado. | C: Obrigado, Deus abençoe
pt close - | C: valeu demais, vcs são top
pt close - | B: A troca foi aprovada, o motoboy passa amanhã. | C: Maravilha! Muito obrigada pela atenção
pt close 600 | B: Qualquer dúvida estamos à disposição. | C: 👍🏻
pt close - | B: Mais alguma dúvida? | C: Não, tudo esclarecido. Obrigado
pt close - | C: Beleza, obrigado. Abs
pt close - | B: Ajudo em algo mais? | C: Não, só isso
pt close - | B: Pedido confirmado! | C: Top, valeu mesmo 🙌
pt close - | C: era só isso, obrigado e bom trabalho
pt open - | C: Obrigado. E o reembolso, quando cai?
pt open - | C: Bom dia! Vocês têm esse tênis no tamanho 42?
pt open - | B: Posso ajudar em algo mais? | C: Sim
pt open - | C: Valeu, mas não era isso
pt open - | C: então não tem como resolver?
pt open - | C: Isso não resolve meu problema
pt open - | B: Seu pedido será entregue em 10 dias. | C: 10 dias??? Muito tempo
pt open - | C: obrigado. Agora, sobre a fatura de março...
pt open - | B: Estamos verificando, só um momento. | C: Ok, obrigado
pt open - | C: Oi, boa tarde
pt open - | C: Eu queria entender essa cobrança
pt open - | B: Consegui te ajudar? | C: Mais ou menos, ainda tenho dúvidas
pt open 600 | B: Me informe o CPF do titular, por favor. | C: É 123.456.789-00
pt close - | B: Posso te ajudar com mais alguma coisa? | C: Não, você já ajudou bastante. Obrigada!
pt close - | B: Seu reembolso foi aprovado. | C: Aleluia! Obrigado 🙏
pt close - | C: ok muito obrigado moça
pt close - | B: O código de desconto já está ativo. | C: Usei aqui e deu certo, obrigado!
pt close 1200 | B: Pronto! Qualquer coisa é só chamar. | C: Tá bom
pt close - | B: Posso ajudar em algo mais? | C: Não precisa, obrigado
pt close - | C: Show de bola, muito obrigado pela ajuda!
pt close - | B: Sua senha foi redefinida. | C: Consegui entrar aqui. Valeu!!
pt close - | C: Obrigada, tenha um bom dia você também
pt open - | C: Obrigado. Mas e se não chegar até sexta?
pt open - | C: Olá, boa tarde! Estou com problema no meu cartão
pt open - | B: Posso ajudar em algo mais? | C: Quero sim, preciso alterar a data de vencimento
pt open - | C: Ainda não recebi o reembolso que vocês prometeram
pt open - | C: vcs podem me ligar?
pt open - | B: Pronto, cancelado. | C: Eu não pedi para cancelar!
pt open - | C: Valeu. Ah, esqueci de perguntar: tem garantia?
pt open - | C: Tô aguardando até agora
pt open - | B: Pode me enviar um print da tela? | C: Vou tirar aqui
pt open - | C: Oi, vocês atendem aos domingos
pt close - | B: Posso ajudar em algo mais? | C: nao obrigado, era so isso msm
pt close - | C: blz, obg pela ajuda
pt close - | B: Seu pedido foi reembolsado integralmente. | C: Maravilhaaa, muito obrigadaaa
pt close - | C: Entendi, muito obrigado pelo esclarecimento | B: Imagina! Estamos à disposição.
pt close 600 | B: Seu agendamento está confirmado para dia 12 às 15h. | C: Confirmado então, obrigado
pt close - | B: Conseguiu acessar? | C: Consegui sim, valeu!
pt close - | C: Tudo resolvido por aqui. Agradeço!
pt close - | B: Mais alguma coisa? | C: Não, tá ótimo assim
pt open - | C: Oii, tudo bom? Queria tirar uma dúvida
pt open - | C: obg, mas o valor ta errado
pt open - | B: Posso ajudar em algo mais? | C: Posso pagar com cartão de crédito?
pt open - | C: Olá, meu produto veio com defeito
pt open - | C: Boa tarde, alguém pode me ajudar?
pt open - | B: Vou verificar com o setor responsável e já te retorno. | C: Tá, obrigado
pt open - | C: Eu paguei e o sistema ainda mostra como pendente
pt open - | C: Obrigado pela resposta, porém gostaria de falar com um supervisor
pt open - | B: Seu pedido está em trânsito. | C: Em trânsito desde o dia 2? Isso não é normal
en close - | B: Your refund has been processed. | C: Thanks!
en close - | B: Is there anything else I can help you with? | C: No, that's all. Thank you!
en close - | B: Anything else? | C: nope, all good 👍
en close - | C: Thank you so much, have a nice day!
en close - | B: Did that help? | C: Yes it did, thanks
en close - | C: thx, bye
en close - | B: Your new card will arrive in 5-7 business days. | C: Perfect, cheers!
en close 600 | B: The reset link is on its way. | C: Got it, thank you
en close 900 | B: I've updated your shipping address. | C: ty
en close - | B: Can I help you with anything else today? | C: No thanks, I'm good
en close - | C: Thanks | B: You're welcome! Have a great day.
en close - | B: Please try clearing the cache. | C: That worked, thanks a lot!
en close - | B: Anything else? | C: That's it, goodbye
en close - | C: Appreciate it, see you
en open - | C: thanks, but it still doesn't work
en open - | C: Thanks for the info, can you also check my order status?
en open - | C: Hi, I need help with my account
en open - | B: Anything else? | C: Yes, I have another question about billing
en open - | C: Thank you. How do I update my address?
en open - | C: I was charged twice this month
en open 600 | C: hello?
en open - | C: My package never arrived | B: Could you send me your order number?
en open - | C: Thanks, but I want a refund, not a replacement
en open - | B: Did that help? | C: No, still getting the same error
en open - | B: I've escalated this to our billing team. | C: Thanks, waiting for your reply then
en open - | C: Bye? I haven't gotten an answer yet!
en open - | C: Thank you, one more thing: do you ship to Canada?
en close - | B: Anything else I can do for you? | C: Nah I'm all set, thanks!
en close - | C: Awesome, thank you!
en close - | B: Your order has shipped. | C: great, thanks 🙂
en close - | C: Many thanks, bye for now
en close - | B: Is there anything else? | C: No, that will be all
en open - | C: Thanks! Also, can I change my plan?
en open - | C: Why was I charged again?
en open - | B: Anything else? | C: Actually yes, the app keeps crashing
en open - | C: that's not what I asked
en open - | B: Let me check that for you, one moment please. | C: sure, thanks
en close - | B: Glad I could help! Anything else? | C: Nope, that's everything. Bye!
en close - | C: Great, thanks for your help
en close - | B: Your ticket is resolved. | C: Cool, thanks! 👋
en close 900 | B: Have a great day! | C: You too!
en open - | C: Thanks, quick question though - do you offer refunds?
en open - | C: I'm still waiting for my refund
en open - | B: Anything else? | C: Yeah, my promo code isn't working
en open - | C: This is the third time I'm contacting you
en close - | B: Your subscription has been cancelled as requested. | C: Perfect, thank you for the quick help
en close - | B: Anything else I can assist with? | C: No, you've been very helpful. Thanks!
en close - | C: ok great, thanks again! bye
en open - | C: Hey, my order #4412 hasn't shipped yet
en open - | C: Thanks. When will the refund show up?
en open - | B: Did that fix it? | C: Not really, the page still won't load
en open - | C: Can someone call me back please
es close - | C: ¡Muchas gracias!
es close - | B: ¿Puedo ayudarte en algo más? | C: No, gracias
es close - | B: ¿Necesitas algo más? | C: Nada más, eso es todo. Adiós
es close - | C: gracias, hasta luego
es close - | B: Tu pedido llega mañana. | C: Perfecto, mil gracias 🙏
es close - | B: ¿Te sirvió la información? | C: Sí, gracias
es close - | B: Reinicia el router, por favor. | C: Listo, ya funciona. Gracias!
es close - | C: Gracias | B: ¡Con gusto! Que tengas buen día
es close - | C: chao, nos vemos
es close - | B: ¿Algo más? | C: no, todo bien
es close 600 | B: Ya cancelamos el cargo duplicado. | C: adios 👋
es close - | B: El reembolso se verá en tu próxima factura. | C: Ok, gracias por la ayuda
es open - | C: gracias, pero todavía no funciona
es open - | C: Hola, necesito ayuda con mi factura
es open - | B: ¿Algo más? | C: Sí, tengo otra pregunta
es open - | C: Gracias. ¿Cuánto tarda el envío?
es open - | C: No me llegó el código de verificación
es open - | B: ¿Te sirvió? | C: No, sigue sin funcionar
es open - | C: Gracias, pero quiero hablar con un supervisor
es open - | C: hola, ¿cómo estás?
es open - | C: Quisiera cambiar la dirección de entrega
es open 600 | C: mi pedido no llegó | B: ¿Me confirmas tu número de pedido?
es open - | C: Gracias, sin embargo el cobro sigue apareciendo
es open - | C: Adiós? pero no me resolvieron nada
es close - | C: Muchas gracias por todo, saludos
es close - | B: ¿Hay algo más en lo que pueda ayudarte? | C: No, muchas gracias
es close - | C: Vale, gracias!
es close - | B: ¿Quedó resuelto? | C: Sí, todo perfecto, gracias
es open - | C: Gracias, ¿y cuándo llega?
es open - | C: Buenas tardes, tengo un problema con mi pedido
es open - | B: ¿Algo más? | C: sí, el descuento no se aplicó
es open - | C: No entiendo por qué me cobraron
es open - | B: Déjame revisarlo, un momento. | C: ok gracias
es close - | C: Perfecto, muchas gracias por tu ayuda. Saludos!
es close - | B: ¿Algo más en que pueda ayudarte? | C: No, eso sería todo. Gracias
es close - | B: Tu reembolso ya fue procesado. | C: Genial, gracias 😊
es open - | C: Gracias, pero el pedido llegó incompleto
es open - | C: ¿Por qué no puedo entrar a mi cuenta?
es open - | B: ¿Te sirvió? | C: Más o menos, todavía tengo dudas
es open - | C: Necesito la factura de marzo
es close - | B: ¿Necesitas algo más? | C: No, eso es todo por ahora. ¡Gracias!
es close - | C: Muchísimas gracias, muy amable
es close - | B: Listo, ya quedó activada tu línea. | C: Excelente, gracias!
es open - | C: Hola buenas, quería consultar por mi pedido
es open - | C: Gracias, aunque sigo sin recibir el correo
es open - | B: ¿Algo más? | C: Sí, ¿cómo cambio mi contraseña?
";

struct Case {
    line: usize,
    lang: String,
    close: bool,
    quiet: i64,
    turns: Vec<(Speaker, String)>,
}

fn parse(corpus: &str) -> Vec<Case> {
    corpus
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(line, text)| {
            let mut parts = text.split('|');
            let head: Vec<&str> = parts.next().unwrap_or("").split_whitespace().collect();
            let [lang, label, quiet] = head[..] else { panic!("line {line}: bad header in {text:?}") };
            let turns = parts
                .map(|turn| {
                    let (who, said) = turn.trim().split_once(": ").expect("`X: text` turn");
                    let speaker = match who {
                        "C" => Speaker::Customer,
                        "B" => Speaker::Business,
                        other => panic!("line {line}: unknown speaker {other}"),
                    };
                    (speaker, said.trim().to_owned())
                })
                .collect::<Vec<_>>();
            assert!((1..=4).contains(&turns.len()), "line {line}: 1-4 turns");
            Case {
                line,
                lang: lang.to_owned(),
                close: match label {
                    "close" => true,
                    "open" => false,
                    other => panic!("line {line}: unknown label {other}"),
                },
                quiet: if quiet == "-" { 30 } else { quiet.parse().expect("seconds") },
                turns,
            }
        })
        .collect()
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 14, 0, 0).unwrap()
}

fn run(detector: &ClosureDetector, turns: &[(Speaker, String)], quiet: i64) -> ClosureAssessment {
    let turns: Vec<Turn<'_>> = turns
        .iter()
        .zip(0..)
        .map(|((speaker, text), i)| Turn::new(*speaker, text, start() + Duration::seconds(40 * i)))
        .collect();
    let last = turns.last().map_or(start(), |t| t.at);
    detector.assess(&turns, last + Duration::seconds(quiet))
}

#[derive(Default)]
struct Tally {
    tp: u32,
    fp: u32,
    tn: u32,
    fn_: u32,
}

impl Tally {
    fn add(&mut self, expected: bool, predicted: bool) {
        match (expected, predicted) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
            (true, false) => self.fn_ += 1,
        }
    }

    fn precision(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fp).max(1))
    }

    fn recall(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fn_).max(1))
    }

    fn line(&self, name: &str) -> String {
        format!(
            "{name:>8}: precision {:.3}  recall {:.3}  (tp {} fp {} tn {} fn {}; {} cases, {} keep-open)",
            self.precision(),
            self.recall(),
            self.tp,
            self.fp,
            self.tn,
            self.fn_,
            self.tp + self.fp + self.tn + self.fn_,
            self.tn + self.fp,
        )
    }
}

#[test]
fn corpus_precision_and_recall() {
    let cases = parse(CORPUS);
    let negatives = cases.iter().filter(|c| !c.close).count();
    assert!(cases.len() >= 90, "corpus has {} cases", cases.len());
    assert!(negatives * 3 >= cases.len(), "only {negatives} keep-open cases");

    let detector = ClosureDetector::new(ClosureConfig::default());
    let mut overall = Tally::default();
    let mut by_lang: Vec<(String, Tally)> = Vec::new();
    let mut wrong = Vec::new();
    for case in &cases {
        let assessment = run(&detector, &case.turns, case.quiet);
        overall.add(case.close, assessment.should_close);
        let index = match by_lang.iter().position(|(lang, _)| *lang == case.lang) {
            Some(index) => index,
            None => {
                by_lang.push((case.lang.clone(), Tally::default()));
                by_lang.len() - 1
            }
        };
        by_lang[index].1.add(case.close, assessment.should_close);
        if assessment.should_close != case.close {
            wrong.push((case, assessment));
        }
    }

    println!("closure corpus: {} cases, {negatives} keep-open", cases.len());
    println!("{}", overall.line("overall"));
    for (lang, tally) in &by_lang {
        println!("{}", tally.line(lang));
    }
    for (case, assessment) in &wrong {
        let turns: Vec<String> =
            case.turns.iter().map(|(speaker, text)| format!("{speaker:?}: {text}")).collect();
        println!(
            "MISCLASSIFIED (corpus line {}, {}, expected {}): score {:.3} | {} | {}",
            case.line,
            case.lang,
            if case.close { "close" } else { "keep open" },
            assessment.score,
            turns.join(" / "),
            assessment.reason
        );
    }
    assert!(overall.precision() >= 0.9, "{}", overall.line("overall"));
    assert!(overall.recall() >= 0.9, "{}", overall.line("overall"));
}

#[test]
fn required_negatives_never_close() {
    let detector = ClosureDetector::new(ClosureConfig::default());
    let question = "Posso ajudar em algo mais?";
    for text in ["obrigado, mas ainda tenho uma dúvida", "tchau? como assim?", "não quero cancelar"] {
        for quiet in [0, 600, 86_400] {
            for turns in [
                vec![(Speaker::Customer, text.to_owned())],
                vec![(Speaker::Business, question.to_owned()), (Speaker::Customer, text.to_owned())],
            ] {
                let assessment = run(&detector, &turns, quiet);
                assert!(!assessment.should_close, "{text} after {quiet}s: {assessment:?}");
            }
        }
    }
}

/// A test-only strategy that vetoes every conversation.
#[derive(Debug)]
struct VetoEverything;

impl ClosureStrategy for VetoEverything {
    fn name(&self) -> &'static str {
        "veto_everything"
    }

    fn evaluate(&self, _: &ConversationView<'_>, config: &ClosureConfig) -> Option<Signal> {
        let weight = config.weights.get(self.name()).unwrap_or(1.0);
        Some(Signal::new(self.name(), weight, -1.0, "test strategy vetoes everything"))
    }
}

#[test]
fn custom_strategy_is_used() {
    let turns = vec![
        (Speaker::Business, "Posso ajudar em algo mais?".to_owned()),
        (Speaker::Customer, "Não, obrigado! Tchau 👋".to_owned()),
    ];
    let default = ClosureDetector::new(ClosureConfig::default());
    assert!(run(&default, &turns, 600).should_close);

    let mut strategies = default_strategies();
    strategies.push(Box::new(VetoEverything));
    let detector = ClosureDetector::with_strategies(ClosureConfig::default(), strategies);
    assert!(detector.strategy_names().contains(&"veto_everything"));
    let assessment = run(&detector, &turns, 600);
    assert!(!assessment.should_close, "{assessment:?}");
    assert_eq!(assessment.reason, "Keep open: test strategy vetoes everything.");
    assert!(assessment.signals.iter().any(|s| s.factor == "veto_everything"));

    let only_custom =
        ClosureDetector::with_strategies(ClosureConfig::default(), vec![Box::new(VetoEverything)]);
    let assessment = run(&only_custom, &turns, 600);
    assert_eq!(assessment.signals.len(), 1);
    assert_eq!(assessment.score, 0.0);

    let config =
        ClosureConfig::from_json(r#"{"weights":{"custom":{"veto_everything":0}}}"#).expect("valid config");
    let mut strategies = default_strategies();
    strategies.push(Box::new(VetoEverything));
    let switched_off = ClosureDetector::with_strategies(config, strategies);
    assert!(run(&switched_off, &turns, 600).should_close, "a zero weight switches the custom strategy off");
}
