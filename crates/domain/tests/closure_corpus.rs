//! A labelled corpus of conversation endings (pt-BR, en, es) run through the default closure
//! detector the way pending closure uses it. Each case is assessed twice:
//!
//! * at **arrival**: 0 seconds after its last turn, the `grace_seconds = 0` behaviour (and
//!   the moment a customer message arrives);
//! * at the **sweep**: `quiet` seconds after its last turn, when the lifecycle sweeper
//!   re-assesses a pending closure (the service opens one when the assessment projected to
//!   the grace period says close).
//!
//! Per language and over both assessments, precision must reach 0.95 and recall 0.9.
//!
//! Each corpus line is `lang label quiet | X: text | X: text ...` where
//!
//! * `lang` is `pt`, `en` or `es`;
//! * `label` is `close` (closes at both assessments), `open` (keep open at both) or `later`
//!   (open at arrival, close at the sweep: a goodbye only if nothing follows it, such as "ok"
//!   after "anything else?");
//! * `quiet` is the seconds of silence after the last turn at the sweep, `-` for 120 (the
//!   default `grace_seconds`);
//! * each turn is `C: text` (customer) or `B: text` (business), 1 to 5 of them, 40 seconds
//!   apart.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::closure::{
    ClosureAssessment, ClosureConfig, ClosureDetector, ClosureStrategy, ConversationView, Signal, Speaker,
    Turn, default_strategies, outbound_keeps_pending_closure,
};

/// Seconds of silence at the sweep when a case's header says `-`: the default grace period.
const DEFAULT_SWEEP_QUIET: i64 = 120;

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
pt later 900 | B: Sua assinatura foi renovada com sucesso. | C: 👍
pt later 1200 | B: Segue o código de rastreio: BR123456789. | C: 🙏🏽
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
pt later 1200 | B: Pronto! Qualquer coisa é só chamar. | C: Tá bom
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
en later 900 | B: I've updated your shipping address. | C: ty
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
pt open - | B: Recebemos sua solicitação de troca. | C: Obrigadão desde já!
pt open - | C: Podem ver o status da minha portabilidade? | B: Claro, estou abrindo sua ficha. | C: Agradecida antecipadamente
pt open - | C: Desde já, muito obrigado pela força
pt open - | B: Vou pedir para o setor de trocas analisar. | C: Fico muito grato desde já
pt open - | B: Infelizmente não podemos fazer o estorno. | C: Valeu pela ajuda nenhuma
pt open - | B: Seu caso foi encerrado. | C: Obrigado por nada, sério
pt open - | C: Obrigada por me fazer perder a tarde inteira
pt open - | B: O prazo de troca já passou. | C: Nossa, muito obrigado pela solução nenhuma
pt open - | C: O valor da parcela veio diferente | B: Vou conferir com o financeiro e te dou um retorno ainda hoje. | C: Beleza, obrigado
pt open - | B: Pode me mandar uma foto do produto com defeito? | C: Blz, valeu
pt open - | B: Preciso que você confirme o CEP de entrega. | C: ok obrigada
pt open - | B: Estou verificando com a transportadora, assim que tiver novidade te aviso. | C: Tá bom, obrigada!
pt close - | B: Vou verificar com o estoque e te retorno. | C: Não precisa mais, já comprei em outra loja. Obrigado
pt close - | B: Reativei sua linha agora. | C: Show de bola, voltou a funcionar 🙌
pt close - | B: Limpei o cache da sua conta, pode testar de novo. | C: Top, agora foi!
pt close - | C: Vocês salvaram minha semana, sério
pt close - | B: Seu cashback caiu na conta. | C: Maravilha, atendimento nota 10!
pt close - | C: Obrigadaaa! | C: Tchauzinho
pt close - | B: O estorno foi feito. | C: Valeu! | C: 👋
pt close - | C: Era isso, obrigado! | B: Por nada, até a próxima!
pt later - | B: Seu pedido foi despachado. Algo mais? | C: blz
pt later - | B: Posso te ajudar com mais alguma coisa? | C: ok
pt later - | B: A segunda via foi enviada. | C: 👌
pt later - | B: Prontinho, qualquer dúvida é só falar. | C: Beleza
pt later 300 | B: Mais alguma dúvida? | C: tá bom
pt open - | B: Seu reembolso foi aprovado. | C: Obrigado! | C: Ah, e mais uma coisa: consigo trocar a cor do pedido?
pt open - | C: Valeu | C: Pera, e o frete, vocês devolvem?
pt open - | C: Obrigado, resolvido | B: Que bom! Aproveitando, temos uma promoção no plano anual, quer conhecer?
en open - | B: I've passed your case to the billing team. | C: Many thanks in advance!
en open - | C: My invoice shows the wrong company name | B: Noted, our team will correct it. | C: thank you so much ahead of time
en open - | C: Thanks beforehand for sorting this out
en open - | B: Unfortunately that's outside our policy. | C: wow, thanks for nothing
en open - | C: Thanks for wasting two hours of my day
en open - | C: Gee, thanks a lot for the runaround
en open - | C: The tracking page shows nothing | B: I'll reach out to the courier and update you within the hour. | C: Sounds good, thanks
en open - | B: Could you share the serial number on the back of the device? | C: will do, thanks
en open - | B: Please send us a photo of the damaged box. | C: Alright, thank you
en close - | B: I've reset your password, try logging in now. | C: Awesome, that did the trick!
en close - | C: You guys rock, thanks so much
en close - | B: Your order was reshipped with express delivery. | C: Wow, you're the best!
en close - | C: Thanks! | C: Bye now
en close - | B: The charge has been reversed. | C: Perfect, it works now 👍
en later - | B: Your refund is on its way. Anything else? | C: ok
en later - | B: Anything else I can help with? | C: sure
en later - | B: All done on our side, feel free to reach out anytime. | C: cool
en later - | B: The replacement ships tomorrow. | C: 👍
en open - | C: Thanks! | C: Oh wait, one more question: do you price match?
en open - | C: thanks, all sorted | B: Great! Before you go, could you confirm your date of birth?
es open - | B: Su reclamo quedó registrado con el número 7731. | C: Muchas gracias de antemano
es open - | C: Desde ya, mil gracias por revisar mi caso
es open - | B: Lo paso al área de facturación. | C: Gracias anticipadamente
es open - | B: No es posible cambiar la fecha. | C: Pues gracias por nada
es open - | C: Gracias por hacerme esperar una hora
es open - | C: Muchas gracias por la nula ayuda
es open - | C: No me llega el SMS de verificación | B: Lo reviso con el equipo técnico y le escribo en un rato. | C: Perfecto, gracias
es open - | B: ¿Me envías una captura del error? | C: Vale, gracias
es open - | B: Necesito que me confirme la dirección de facturación. | C: Ok, muchas gracias
es close - | B: Voy a consultar con el almacén y le aviso. | C: No hace falta, ya lo encontré. ¡Gracias!
es close - | B: Ya restablecimos el servicio en su zona. | C: Genial, ya anda todo
es close - | C: Eres un sol, mil gracias
es close - | B: Te mandé el cupón por correo. | C: Buenísimo, me salvaste
es close - | C: ¡Gracias! | C: Chau
es close - | B: Listo, ya se acreditó el pago. | C: Excelente, quedó perfecto
es later - | B: Tu línea ya está activa. ¿Algo más? | C: vale
es later - | B: ¿Necesita algo más? | C: ok
es later - | B: Cualquier cosa, nos escribes. | C: dale
es later - | B: El técnico irá el lunes. | C: 👍🏼
es open - | C: ¡Gracias! | C: Ah, y otra cosa, ¿hacen envíos a Rosario?
pt open - | C: Oi, queria cancelar a assinatura. Obrigado desde já pela atenção
pt open - | B: Não encontramos seu cadastro. | C: Ótimo, muito obrigado pela ajuda inútil
pt close - | B: Seu boleto foi gerado, qualquer coisa estou por aqui. | C: 👍🏻
pt open - | B: Vou precisar que você me envie o comprovante de residência. | C: Ok
pt open - | B: Estou consultando aqui, só um minutinho. | C: Td bem
pt close - | B: Posso ajudar em algo mais? | C: Não, muito obrigada! Você foi super atenciosa
pt later - | B: Mais alguma coisa? | C: Beleza
pt open - | C: Agradeço o retorno, mas continuo sem acesso
pt close - | C: Deu certinho aqui, muito obrigada!
pt open - | C: Muito obrigado pelo descaso
en open - | C: Thanks in advance for any help you can give
en later - | B: Anything else today? | C: okay
en open - | B: I'm escalating this to a supervisor who will email you by tomorrow. | C: ok thanks
en close - | C: Brilliant, it's working again. Cheers!
en open - | C: Oh great, thanks for making this so complicated
en open - | B: Can you try logging out and back in, then tell me what you see? | C: ok sure
es open - | C: Gracias de antemano por la respuesta
es later - | B: ¿Le puedo ayudar en algo más? | C: Bueno
es open - | B: Déjeme verificar con el área de envíos. | C: Ok gracias
es close - | C: ¡Mil gracias, son unos genios!
es open - | C: Gracias por nada, como siempre
es open - | B: Por favor, envíe una foto del recibo. | C: Sí, claro. Gracias
pt open - | C: Preciso alterar o titular da conta, agradeço antecipadamente o retorno
pt open - | B: Não temos previsão de reposição. | C: Puxa, valeu mesmo pela falta de informação
pt open - | B: Vou checar com o time de logística e volto a falar com você. | C: Fechado, valeu
pt open - | B: Consegue me mandar o print da tela de erro? | C: Consigo sim, obrigada
pt close - | B: Troquei o plano como pediu. | C: Perfeito, você é fera!
pt close - | C: Valeu demais! | C: Até a próxima 👋
pt later - | B: Alguma outra dúvida? | C: certo
pt later - | B: O prazo é de 3 dias úteis. Posso ajudar em algo mais? | C: 👍
pt open - | C: Obrigado! | C: Só mais uma coisinha: o app funciona no tablet?
pt close - | B: Desbloqueei seu cartão. | C: Ufa, funcionou! Vocês são ótimos
en open - | C: Could you look into order 5512? Thanks ahead!
en open - | B: We're out of stock on that model. | C: Thanks for the useless answer
en open - | B: I'll have our returns team contact you by email. | C: great, thank you
en open - | B: Can you tell me the last four digits of your card? | C: sure thing
en close - | B: Done, your account is unlocked. | C: Legend, thank you!
en close - | C: Cheers mate, sorted now
en close - | B: Is there anything else you need? | C: nah
en later - | B: Your case is closed, reach out if you need anything! | C: k
en open - | C: thanks! | C: actually, can I also change my delivery slot?
es open - | C: Agradezco de antemano su pronta respuesta
es open - | B: No podemos hacer nada más. | C: Gracias por tanta ayuda, de verdad...
es open - | B: Voy a escalarlo con mi supervisor y te contacto mañana. | C: Ok, gracias
es open - | B: ¿Podrías mandarme el número de serie? | C: Sí, gracias
es close - | C: ¡Qué crack! Ya funciona todo, gracias
es close - | B: ¿Algo más en lo que te pueda ayudar? | C: todo ok
es close - | B: Ya se procesó tu devolución. | C: Gracias! | C: Saludos
";

/// What a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    /// Closes at arrival and at the sweep.
    Close,
    /// Stays open at arrival and at the sweep.
    Open,
    /// Stays open at arrival, closes at the sweep.
    Later,
}

impl Label {
    fn closes_at(self, moment: Moment) -> bool {
        match moment {
            Moment::Arrival => self == Self::Close,
            Moment::Sweep => self != Self::Open,
        }
    }
}

/// When a case is assessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    /// Right as the last turn arrives.
    Arrival,
    /// At the pending-closure sweep, after the case's quiet.
    Sweep,
}

const MOMENTS: [Moment; 2] = [Moment::Arrival, Moment::Sweep];

struct Case {
    line: usize,
    lang: String,
    label: Label,
    sweep_quiet: i64,
    turns: Vec<(Speaker, String)>,
}

impl Case {
    fn quiet_at(&self, moment: Moment) -> i64 {
        match moment {
            Moment::Arrival => 0,
            Moment::Sweep => self.sweep_quiet,
        }
    }
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
            assert!((1..=5).contains(&turns.len()), "line {line}: 1-5 turns");
            assert!(["pt", "en", "es"].contains(&lang), "line {line}: unknown language {lang}");
            Case {
                line,
                lang: lang.to_owned(),
                label: match label {
                    "close" => Label::Close,
                    "open" => Label::Open,
                    "later" => Label::Later,
                    other => panic!("line {line}: unknown label {other}"),
                },
                sweep_quiet: if quiet == "-" { DEFAULT_SWEEP_QUIET } else { quiet.parse().expect("seconds") },
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

#[derive(Default, Clone, Copy)]
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

    fn plus(self, other: Self) -> Self {
        Self {
            tp: self.tp + other.tp,
            fp: self.fp + other.fp,
            tn: self.tn + other.tn,
            fn_: self.fn_ + other.fn_,
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
            "{name:>12}: precision {:.3}  recall {:.3}  (tp {} fp {} tn {} fn {}; {} assessments, {} keep-open)",
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

/// The tallies of one language: at arrival and at the sweep.
struct LanguageTally {
    lang: String,
    arrival: Tally,
    sweep: Tally,
}

#[test]
fn corpus_precision_and_recall() {
    let cases = parse(CORPUS);
    let count = |label: Label| cases.iter().filter(|c| c.label == label).count();
    let (negatives, later) = (count(Label::Open), count(Label::Later));

    let detector = ClosureDetector::new(ClosureConfig::default());
    let mut by_lang: Vec<LanguageTally> = Vec::new();
    let mut wrong = Vec::new();
    for case in &cases {
        let index = match by_lang.iter().position(|t| t.lang == case.lang) {
            Some(index) => index,
            None => {
                by_lang.push(LanguageTally {
                    lang: case.lang.clone(),
                    arrival: Tally::default(),
                    sweep: Tally::default(),
                });
                by_lang.len() - 1
            }
        };
        for moment in MOMENTS {
            let assessment = run(&detector, &case.turns, case.quiet_at(moment));
            let expected = case.label.closes_at(moment);
            let tally = match moment {
                Moment::Arrival => &mut by_lang[index].arrival,
                Moment::Sweep => &mut by_lang[index].sweep,
            };
            tally.add(expected, assessment.should_close);
            if assessment.should_close != expected {
                wrong.push((case, moment, assessment));
            }
        }
    }

    println!("closure corpus: {} cases, {negatives} keep-open, {later} close only at the sweep", cases.len());
    for t in &by_lang {
        println!("{}", t.arrival.line(&format!("{} arrival", t.lang)));
        println!("{}", t.sweep.line(&format!("{} sweep", t.lang)));
        println!("{}", t.arrival.plus(t.sweep).line(&format!("{} both", t.lang)));
    }
    for (case, moment, assessment) in &wrong {
        let turns: Vec<String> =
            case.turns.iter().map(|(speaker, text)| format!("{speaker:?}: {text}")).collect();
        println!(
            "MISCLASSIFIED (corpus line {}, {}, {:?}, at {:?} after {}s): score {:.3} | {} | {}",
            case.line,
            case.lang,
            case.label,
            moment,
            case.quiet_at(*moment),
            assessment.score,
            turns.join(" / "),
            assessment.reason
        );
    }
    assert!(cases.len() >= 290, "corpus has {} cases", cases.len());
    assert!(negatives * 3 >= cases.len(), "only {negatives} keep-open cases");
    assert!(later >= 15, "only {later} time-dependent cases");
    for t in &by_lang {
        let both = t.arrival.plus(t.sweep);
        assert!(both.precision() >= 0.95, "{}", both.line(&t.lang));
        assert!(both.recall() >= 0.9, "{}", both.line(&t.lang));
    }
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

/// Turns at explicit offsets (seconds after [`start`]).
fn timed<'a>(turns: &[(Speaker, &'a str, i64)]) -> Vec<Turn<'a>> {
    turns
        .iter()
        .map(|&(speaker, text, at)| Turn::new(speaker, text, start() + Duration::seconds(at)))
        .collect()
}

/// The pending-closure flow: the service projects the customer's message to the grace period,
/// the agent may write meanwhile, and the sweep re-assesses the latest turns when it is due.
#[test]
fn pending_closure_flow() {
    let detector = ClosureDetector::new(ClosureConfig::default());
    let grace = i64::try_from(ClosureConfig::default().grace_seconds).unwrap();
    let (arrival, due) = (start() + Duration::seconds(40), start() + Duration::seconds(40 + grace));
    let tentative =
        [(Speaker::Business, "Pronto, reenviei o boleto. Algo mais?", 0), (Speaker::Customer, "ok", 40)];
    assert!(!detector.assess(&timed(&tentative), arrival).should_close, "not at the instant of the \"ok\"");
    assert!(detector.assess(&timed(&tentative), due).should_close, "projected to the grace: pending closure");

    // An agent goodbye keeps the pending closure, and the sweep, which sees it, closes.
    for goodbye in ["De nada! Até mais 😊", "Qualquer coisa é só chamar. Tenha um ótimo dia!"] {
        assert!(outbound_keeps_pending_closure(goodbye), "{goodbye}");
        let mut turns = tentative.to_vec();
        turns.push((Speaker::Business, goodbye, 60));
        let sweep = detector.assess(&timed(&turns), due);
        assert!(sweep.should_close, "{goodbye}: {sweep:?}");
    }

    // A message that makes someone owe a step cancels it; the detector agrees, whenever asked.
    let goodbye =
        [(Speaker::Business, "Seu cadastro foi atualizado.", 0), (Speaker::Customer, "Valeu, obrigado!", 40)];
    assert!(detector.assess(&timed(&goodbye), arrival).should_close, "a clear goodbye closes at once");
    for owed in [
        "Só mais uma coisa: me manda uma foto do documento?",
        "Vou conferir se ficou tudo certo e te retorno.",
        "Please send us a screenshot of your profile page.",
        "Le aviso en un rato si se actualizó.",
    ] {
        assert!(!outbound_keeps_pending_closure(owed), "{owed}");
        let mut turns = goodbye.to_vec();
        turns.push((Speaker::Business, owed, 60));
        for now in [due, due + Duration::hours(1)] {
            let sweep = detector.assess(&timed(&turns), now);
            assert!(!sweep.should_close, "{owed}: {sweep:?}");
        }
    }

    // A new customer message reopening the topic: the service cancels the pending closure and
    // the projection of the new message says open.
    let reopened = [
        (Speaker::Customer, "Obrigado!", 0),
        (Speaker::Customer, "Ah, e vocês também trocam a bateria?", 20),
    ];
    let projected = start() + Duration::seconds(20 + grace);
    assert!(!detector.assess(&timed(&reopened), projected).should_close);
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
