//! The phrase lexicons (pt-BR first, then en and es), grouped by [`Cue`] and strength.
//!
//! Phrases are written naturally (accents, apostrophes and case do not matter: they are
//! normalized like messages) and compiled once into token sequences by
//! [`lexicon`](super::lexicon). A trailing `$` means the phrase only counts when it ends its
//! clause: `"não quero$"` matches "não quero, obrigado" but not "não quero cancelar".

use super::lexicon::Cue;

/// One group of phrases sharing a cue and a strength (`0..=1`).
pub(crate) struct Group {
    pub(crate) cue: Cue,
    pub(crate) strength: f64,
    pub(crate) phrases: &'static [&'static str],
}

const fn group(cue: Cue, strength: f64, phrases: &'static [&'static str]) -> Group {
    Group { cue, strength, phrases }
}

/// Every phrase group of the lexicon.
#[rustfmt::skip]
pub(crate) const GROUPS: &[Group] = &[
    group(Cue::Thanks, 1.0, &[
        // pt-BR
        "obrigado", "obrigada", "obrigadão", "obrigadinho", "obg", "obgd", "obgda", "brigado",
        "brigada", "brigadão", "vlw", "valeu", "agradeço", "agradecido", "agradecida",
        "quero agradecer", "queria agradecer", "gostaria de agradecer", "grato", "grata",
        // en
        "thanks", "thank you", "thankyou", "thx", "tks", "tysm", "many thanks",
        "much appreciated", "appreciate it", "i appreciate", "thank u", "cheers",
        // es
        "gracias", "muchas gracias", "mil gracias", "te agradezco", "le agradezco",
        "muy agradecido", "muy agradecida",
    ]),
    group(Cue::Thanks, 0.8, &["ty", "tku", "grax", "🙏"]),
    group(Cue::Farewell, 1.0, &[
        "tchau", "tchauzinho", "xau", "até mais", "até logo", "até amanhã", "até breve",
        "até a próxima", "até mais ver", "flw", "tenha um bom dia", "tenha um ótimo dia",
        "tenha uma boa tarde", "tenha uma ótima tarde", "tenha uma boa noite", "bom fim de semana",
        "ótimo fim de semana", "bom final de semana", "boa semana", "fica com deus",
        "fique com deus", "vai com deus", "bye", "bye bye", "goodbye", "good bye", "see you",
        "see ya", "see you later", "cya", "take care", "have a nice day", "have a good day",
        "have a great day", "have a good one", "have a nice weekend", "have a great weekend",
        "adiós", "hasta luego", "hasta pronto", "hasta mañana", "hasta la próxima", "chao",
        "chau", "nos vemos", "cuídate", "cuídese", "que tengas buen día", "que tenga buen día",
        "que tengas un buen día", "buen fin de semana", "👋",
    ]),
    group(Cue::Farewell, 0.75, &[
        "falou", "abraço", "abraços", "abs", "um abraço", "grande abraço", "saludos",
        "un saludo", "good night", "bjs", "beijos", "🤝", "você também", "vc também",
        "pra você também", "igualmente", "you too", "same to you", "tú también",
        "usted también", "para ti también",
    ]),
    group(Cue::Farewell, 0.7, &["👍", "✅", "👌", "✔", "☑"]),
    group(Cue::Farewell, 0.55, &["😊", "🙂", "😉", "☺", "❤", "💙", "💚", "🥰", "😁", "😀", "😃", "😄", "🤗"]),
    group(Cue::Resolution, 1.0, &[
        // pt-BR
        "era só isso", "é só isso", "só isso mesmo", "só isso", "por enquanto é só",
        "por hoje é só", "pode encerrar", "pode fechar", "pode finalizar", "pode encerrar o atendimento",
        "pode fechar o chamado", "pode encerrar o chamado", "você pode encerrar", "vc pode encerrar",
        "preciso ir", "tenho que ir", "vou ter que ir", "era só isso que eu precisava",
        "era isso que eu precisava", "era o que eu precisava", "exatamente o que eu precisava",
        "tudo que eu precisava", "perfeito obrigado",
        // en
        "that's all", "that is all", "that's it", "thats everything", "that's everything",
        "you can close", "can you close", "please close", "close the ticket", "close the chat",
        "i have to go", "gotta go", "just what i needed", "exactly what i needed",
        "that's what i needed", "that will be all", "that'll be all", "that would be all",
        "that's all for now", "that'll be it",
        // es
        "eso es todo", "es todo", "eso era todo", "era todo", "eso sería todo", "puedes cerrar",
        "puede cerrar", "ya puedes cerrar", "tengo que irme", "me tengo que ir",
        "justo lo que necesitaba", "era lo que necesitaba", "eso era lo que necesitaba",
    ]),
    group(Cue::Resolution, 0.9, &[
        "resolvido", "resolveu", "foi resolvido", "problema resolvido", "tudo resolvido",
        "deu certo", "deu tudo certo", "funcionou", "consegui", "conseguimos", "ajudou muito",
        "solved", "resolved", "problem solved", "it worked", "that worked", "works now",
        "it's working now", "all sorted", "sorted", "all set", "resuelto", "solucionado",
        "funcionó", "ya funciona", "quedó resuelto", "listo", "ya está",
        // the fix worked, in other words
        "agora foi$", "agora deu certo", "agora funcionou", "deu bom", "funcionou perfeitamente",
        "that did it", "that did the trick", "did the trick", "that fixed it", "fixed it",
        "all fixed", "it's fixed", "it works", "working now", "works perfectly", "ya quedó",
        "ya sirve", "se arregló", "ya se arregló", "eso funcionó", "funciona perfecto",
        "ya está funcionando", "quedó perfecto", "voltou a funcionar", "está funcionando",
        "tá funcionando", "ya anda",
    ]),
    group(Cue::Resolution, 0.6, &[
        "tudo certo", "tudo ok", "tudo ótimo", "all good", "todo bien", "todo perfecto", "todo ok",
    ]),
    group(Cue::Ack, 0.45, &[
        "perfeito", "ótimo", "beleza", "blz", "show", "top", "entendi", "certo",
        "combinado", "maravilha", "excelente", "legal", "massa", "ok", "okay", "entendido",
        "perfect", "great", "awesome", "got it", "understood", "cool", "nice", "perfecto",
        "genial", "vale", "bueno", "de acuerdo", "tá bom", "tá bem", "sounds good", "de boa",
        "sure", "sure thing", "dale", "fechado", "joia", "bacana", "okey", "oki", "alright",
        "all right", "show de bola", "buenísimo", "buenisimo", "claro",
        // agreeing to do what was asked, without doing it yet
        "will do", "pode deixar", "deixa comigo", "lo hago",
    ]),
    group(Cue::Decline, 1.0, &[
        // pt-BR
        "não$", "não obrigado", "não obrigada", "não valeu", "não não", "não precisa",
        "não preciso$", "não preciso mais", "não preciso de mais nada", "não preciso de nada",
        "não quero$", "não quero mais nada", "não quero nada", "nada$", "nada mais", "mais nada",
        "só isso", "é só isso", "era só isso", "só isso mesmo", "por enquanto é só",
        "por enquanto não", "por hoje é só", "agora não", "era isso", "tudo certo", "tudo bem",
        "tá tudo certo", "está tudo certo", "tudo ok", "estou bem", "to bem", "nenhuma",
        "nenhuma dúvida", "sem mais dúvidas", "não tenho mais dúvidas", "negativo",
        // en
        "no$", "nope", "nah", "no thanks", "no thank you", "nothing", "nothing else",
        "nothing more", "that's it", "that's all", "that is all", "i'm good", "im good",
        "i'm fine", "all good", "all set", "i'm all set", "that will be all", "that'll be all", "not now", "not at the moment", "no need",
        "i don't need anything", "don't need anything", "no more questions", "no other questions",
        "none",
        // es
        "no gracias", "nada más", "no necesito nada", "no necesito nada más", "no hay nada más",
        "eso es todo", "es todo", "eso sería todo", "sería todo", "todo bien", "todo ok", "estoy bien",
        "por ahora no", "ahora no", "de momento no", "ninguna", "ninguna otra",
        "no tengo más preguntas", "nada por ahora", "no hace falta", "no es necesario",
        "não é necessário", "not necessary",
    ]),
    group(Cue::Affirm, 1.0, &[
        "sim", "tenho sim", "sim tenho", "tem sim", "quero sim", "preciso sim", "na verdade",
        "ajudou", "ajudou sim", "deu sim", "deu certo sim", "funcionou sim", "consegui sim",
        "resolveu sim", "foi sim", "yes", "yeah", "yep", "yup", "actually", "it did",
        "it helped", "si", "sí", "claro que si", "en realidad", "de hecho", "me sirvió",
        "sí funcionó", "funcionó sí", "sí sirvió", "consigo sim", "posso sim", "sí puedo",
        "puedo sí",
    ]),
    group(Cue::Courtesy, 1.0, &[
        "de nada", "por nada", "disponha", "imagina", "não há de quê", "às ordens",
        "estamos à disposição", "estou à disposição", "fico à disposição", "à disposição",
        "sempre que precisar", "foi um prazer", "é só chamar", "é só nos chamar",
        "conte conosco", "you're welcome", "you are welcome", "no problem", "my pleasure",
        "anytime", "glad to help", "happy to help", "glad i could help", "feel free to reach out",
        "con gusto", "a la orden", "a tu disposición", "a su disposición", "fue un placer",
        "un placer", "no hay de qué", "para servirte", "estamos para ayudarte",
        "ficamos felizes em ajudar", "fico feliz em ajudar", "fico feliz em ter ajudado",
        "que bom que deu certo", "que bom que ajudou", "glad it worked", "glad that helped",
        "happy to hear", "me alegra", "qué bueno que",
    ]),
    group(Cue::Request, 0.9, &[
        // pt-BR
        "tenho uma dúvida", "tenho outra dúvida", "tenho mais uma dúvida", "tenho uma pergunta",
        "ainda tenho", "mais uma dúvida", "mais uma coisa", "mais uma pergunta", "outra coisa",
        "outra dúvida", "outra pergunta", "e também", "também queria", "também quero",
        "também preciso", "preciso", "precisava", "preciso de ajuda", "quero", "queria", "gostaria",
        "poderia", "pode me", "pode ver", "pode verificar", "você pode", "vc pode", "consegue me",
        "como faço", "como eu faço", "me ajuda", "me ajude", "me explica", "me manda", "me envia",
        "me passa", "quero saber", "queria saber", "gostaria de saber", "quero cancelar",
        "agora sobre", "e sobre", "e quanto", "quanto a", "a respeito", "and about",
        "y sobre", "ahora sobre", "respecto a", "y qué pasa con",
        // en
        "can you", "could you", "can u", "would you", "i need", "i want", "i'd like",
        "i would like", "i have a question", "i have another question", "another question",
        "one more thing", "one more question", "also", "how do i", "how can i", "please help",
        "help me", "what about", "and also", "i was wondering", "is it possible",
        // es
        "necesito", "quiero", "quisiera", "me gustaría", "tengo una pregunta",
        "tengo otra pregunta", "tengo una duda", "otra pregunta", "otra cosa", "una cosa más",
        "una pregunta", "otra duda", "puedes", "podrías", "podría", "me ayudas", "ayúdame",
        "cómo hago", "y también", "también necesito", "también quiero",
    ]),
    group(Cue::Problem, 0.9, &[
        // pt-BR
        "não funcionou", "não funciona", "não deu certo", "não resolveu", "não foi resolvido",
        "não consegui", "não consigo", "não chegou", "não recebi", "não veio", "não abre",
        "não liga", "não entendi", "ainda não", "continua", "continua sem", "deu erro",
        "dando erro", "dá erro", "está com problema", "tá com problema", "ainda está",
        "ainda estou", "ainda tá", "veio errado", "veio quebrado", "chegou quebrado",
        "chegou errado", "cobrado duas vezes", "cobrança indevida", "absurdo", "péssimo",
        "horrível", "ridículo", "reclamação",
        // en
        "still", "doesn't work", "does not work", "didn't work", "not working", "isn't working",
        "not resolved", "can't", "cannot", "didn't receive", "haven't received", "never arrived",
        "got an error", "an error", "it's broken", "is broken", "wrong item", "charged twice",
        "not fixed",
        // es
        "no funciona", "no funcionó", "todavía no", "aún no", "sigue", "sigue sin", "no me llegó",
        "no recibí", "no puedo", "no pude", "no se resolvió", "da error", "llegó roto",
        "me cobraron dos veces",
        // irony markers: the praise before them is meant the other way round
        "só que não", "sqn",
    ]),
    group(Cue::Contrast, 0.9, &[
        "mas", "porém", "contudo", "entretanto", "só que", "but", "however", "though",
        "although", "pero", "sin embargo", "aunque",
    ]),
    group(Cue::Waiting, 0.8, &[
        "fico no aguardo", "fico aguardando", "aguardo retorno", "aguardo o retorno",
        "aguardo seu retorno", "aguardo resposta", "aguardo sua resposta", "no aguardo",
        "waiting for your reply", "waiting for your answer", "awaiting your reply",
        "looking forward to your reply", "let me know", "me avisa", "me avise", "me retorna",
        "quedo atento", "quedo atenta", "quedo a la espera", "espero su respuesta",
        "espero tu respuesta", "me avisas",
        // the customer will come back
        "te retorno", "já retorno", "volto a falar", "volto a entrar em contato", "te aviso",
        "depois te falo", "i'll get back to you", "i'll let you know", "i'll come back",
        "te aviso", "te confirmo", "le confirmo", "te escribo luego", "looking forward to hearing",
    ]),
    group(Cue::Pending, 1.0, &[
        // pt-BR
        "um momento", "só um momento", "um instante", "aguarde um momento", "aguarde um instante",
        "aguarde enquanto", "vou verificar", "estou verificando", "estamos verificando",
        "vou checar", "vou consultar", "já volto", "já retorno", "já te retorno",
        "deixa eu ver", "deixe-me verificar", "vou encaminhar", "vou transferir",
        "estou analisando", "estamos analisando",
        // en
        "one moment", "just a moment", "one sec", "let me check", "i'll check", "i will check",
        "checking now", "i'll get back to you", "bear with me", "please hold", "give me a moment",
        "i'm looking into it", "looking into it", "let me look", "i'll transfer you",
        // es
        "un momento", "un momentito", "déjame revisar", "déjame revisarlo", "déjame verificar",
        "voy a revisar", "voy a verificar", "estoy revisando", "estamos revisando",
        "ya te confirmo", "en seguida", "enseguida", "te transfiero",
        // promises to come back later (in any language, a follow-up the business owes)
        "te retorno", "retorno em breve", "te dou um retorno", "te dou retorno", "retornamos",
        "retornaremos", "vou retornar", "entraremos em contato", "entramos em contato",
        "vamos entrar em contato", "vou entrar em contato", "te aviso$", "te aviso assim que",
        "te aviso quando", "aviso assim que", "assim que eu tiver", "assim que tiver",
        "vou analisar", "vou averiguar", "vou apurar", "vou ver com", "vou falar com",
        "we'll get back to you", "get back to you", "i'll let you know", "we'll let you know",
        "i'll follow up", "we'll follow up", "i'll be in touch", "we'll be in touch",
        "we'll contact you", "we will contact you", "i'll reach out", "we'll reach out",
        "i'll update you", "we'll update you", "i'll keep you posted", "we'll keep you posted",
        "i'll email you", "we'll email you", "i'll look into", "i'll find out", "let me find out",
        "le aviso$", "le aviso en", "te aviso en", "le aviso cuando", "le escribo$",
        "te escribo$", "le escribo luego", "le escribo en", "te escribo en", "le llamo en",
        "te llamo en", "le llamo luego", "te llamo luego", "le respondo$", "te respondo en",
        "le respondo en", "nos pondremos en contacto", "nos comunicaremos", "le contactaremos",
        "te contactaremos", "le confirmo en", "te confirmo en", "en un rato le", "en un rato te",
        "voy a consultar", "déjame consultar", "lo consulto",
        // a third party's promise to the customer: "a supervisor will email you"
        "will email you", "will call you", "will contact you", "will reach out", "will be in touch",
        "will let you know", "will update you", "will follow up", "will get back to you",
        "vai entrar em contato", "vão entrar em contato", "vai te ligar", "vai te retornar",
        "vão te retornar", "vai te responder", "te ligamos", "se comunicará", "se pondrá en contacto",
        "le llamará", "le escribirá", "le contactará", "le responderá",
        // formal and short forms of "one moment, let me check"
        "déjeme verificar", "déjeme revisar", "déjeme consultar", "permítame verificar",
        "permítame revisar", "permítame un momento", "deme un momento", "dame un momento",
        "um minuto", "um minutinho", "só um segundo", "one minute", "un minuto", "un segundo",
        "te contacto", "le contacto", "te contactamos", "le contactamos", "volto a falar",
        "volto a te chamar", "contact you", "call you back", "email you",
    ]),
    group(Cue::Praise, 1.0, &[
        // pt-BR
        // whatever was saved: "salvou meu dia", "salvaram minha semana"
        "salvou meu", "salvou minha", "salvou o meu", "salvaram meu", "salvaram minha", "me salvou",
        "me salvaram", "salvou a pátria", "você é demais",
        "vc é demais", "vocês são demais", "vcs são demais", "você é top", "vocês são top",
        "vcs são top", "você é um anjo", "vocês são incríveis", "você é incrível",
        "atendimento nota 10", "nota 10", "nota dez", "nota mil", "arrasou", "arrasaram",
        "mandou bem", "mandaram bem", "melhor atendimento", "você é fera", "vc é fera",
        "vocês são feras", "você é o cara", "é fera", "craque",
        // en
        "lifesaver", "life saver", "you saved me", "saved my", "you're the best", "you are the best", "you guys are the best",
        "you rock", "you guys rock", "you're amazing", "you're awesome", "you're a star",
        "great service", "excellent service", "amazing service", "great job", "top notch",
        // es
        "me salvaste", "me salvó", "me salvaron", "me salvaste el día", "me salvó el día",
        "eres un sol", "eres lo máximo", "son lo máximo", "eres un crack", "son unos cracks",
        "excelente servicio", "excelente atención", "muy amable", "qué amable", "muy amables",
        "eres el mejor", "eres la mejor", "son los mejores",
    ]),
    group(Cue::Praise, 0.7, &["👏", "🙌", "🎉", "🥳", "💪", "⭐", "🌟", "🏆"]),
    group(Cue::Conditional, 1.0, &[
        // pt-BR
        "se precisar", "caso precise", "se tiver alguma dúvida", "se tiver mais alguma dúvida",
        "se surgir", "caso tenha", "caso surja", "qualquer coisa", "qualquer dúvida",
        "qualquer problema", "em caso de dúvida", "se o problema voltar", "caso o problema persista",
        "se continuar", "caso continue",
        // en
        "if you need", "if you have any", "if you have more", "should you need", "should you have",
        "if anything", "if there's anything", "if it happens again", "if the problem persists",
        "if the issue persists", "in case you need", "anytime you need", "whenever you need",
        // es
        "si necesitas", "si necesita", "si tienes alguna", "si tiene alguna", "cualquier cosa",
        "cualquier duda", "cualquier consulta", "en caso de", "si vuelve a", "si el problema persiste",
        "si persiste",
    ]),
    group(Cue::Instruction, 1.0, &[
        // pt-BR
        "me manda", "me mande", "me envia", "me envie", "me passa", "me passe", "me informa",
        "me informe", "me diga", "me diz", "me confirma", "me confirme", "me fala", "me fale",
        "nos envie", "nos mande", "nos informe", "nos passe",
        // Formal imperatives fold into Spanish first persons of the past ("mandé", "envié",
        // "revisé", "reinicié"...: "te mandé el cupón"), so they count with their object.
        "envie o", "envie a", "envie um", "envie uma", "envie seu", "envie sua", "envie para",
        "mande o", "mande a", "mande um", "mande uma", "mande seu", "mande sua", "mande para",
        "informe o", "informe a", "informe seu", "informe sua", "confirme o", "confirme a",
        "confirme seu", "confirme sua", "confirme se", "anexe o", "anexe a", "anexe um",
        "anexe uma", "encaminhe", "digite", "tire um print", "tire uma foto",
        "preciso que você", "preciso que vc", "pode me enviar", "pode me mandar", "pode me passar",
        "pode me informar", "pode me confirmar", "pode confirmar", "pode enviar", "pode mandar",
        "poderia enviar", "poderia me enviar", "poderia confirmar", "poderia informar",
        "reinicie o", "reinicie a", "reinicie seu", "reinicie sua", "tente", "verifique o",
        "verifique a", "verifique se", "verifique seu", "verifique sua", "revise o", "revise a",
        "revise seu", "revise sua", "acesse", "clique", "me avisa se", "me avise se",
        "me diga se", "me conta se", "me mandar", "me enviar", "me passar", "me informar",
        "me confirmar", "nos mandar", "nos enviar", "nos informar",
        // en
        "please send", "send me", "send us", "can you send", "could you send", "please provide",
        "can you provide", "could you provide", "please confirm", "can you confirm",
        "could you confirm", "please share", "can you share", "could you share", "please attach",
        "take a screenshot", "send a screenshot", "please try", "can you try", "could you try",
        "please restart", "please check", "please reply", "reply with", "tell me your",
        "let me know if it", "let me know whether", "let me know once", "let us know if it",
        "please fill", "please verify", "can you verify",
        // es
        "envíeme", "envíame", "envíanos", "envíenos", "mándame", "mándanos", "me pasa",
        "me pasas", "pásame", "me mandas", "me envía", "me envías", "me confirmas",
        "confírmame", "confírmeme", "indíqueme", "indícame", "dígame", "dime", "necesito que",
        "puede enviar", "puedes enviar", "podría enviar", "podrías enviar", "puede confirmar",
        "puedes confirmar", "envíe el", "envíe la", "envíe su", "envíe un", "envíe una",
        "adjunte el", "adjunte la", "adjunte su", "adjunte una", "adjunta", "reinicie el",
        "reinicie la", "reinicie su", "reinicia el", "reinicia la", "reinicia tu",
        "intente de nuevo", "intente nuevamente", "intente otra vez", "intenta", "verifique el",
        "verifique la", "verifique su", "verifique si", "verifica tu", "verifica el",
        "verifica la", "verifica si", "revise el", "revise la", "revise su", "revise si",
        "revisa tu", "revisa el", "revisa la", "revisa si", "tome una captura", "toma una captura",
        "saque una foto", "saca una foto", "avísame si", "avíseme si", "me avisas si",
        "me avisa si", "mandarme", "enviarme", "pasarme", "confirmarme", "indicarme", "decirme",
        "compartirme", "mandarnos", "enviarnos", "confirmarnos",
    ]),
    group(Cue::Offer, 1.0, &[
        // pt-BR
        "temos uma promoção", "temos uma oferta", "temos um plano", "temos uma condição",
        "posso oferecer", "podemos oferecer", "posso te oferecer", "gostaria de conhecer",
        "quer conhecer", "gostaria de contratar", "quer contratar", "quer aproveitar",
        "gostaria de aproveitar", "aproveite a promoção", "aproveite o desconto",
        "aproveite a oferta", "que tal", "oferta especial",
        "condição especial", "desconto especial",
        // en
        "would you like to", "would you be interested", "are you interested", "we have a special",
        "we have a promotion", "we're offering", "we are offering", "we can offer", "i can offer",
        "special offer", "you might like", "you may be interested", "why not try", "check out our",
        "how about",
        // es
        "le ofrecemos", "te ofrecemos", "le podemos ofrecer", "te podemos ofrecer",
        "podemos ofrecerle", "podemos ofrecerte", "tenemos una promoción", "tenemos una oferta",
        "tenemos un plan", "promoción especial", "le gustaría", "te gustaría", "le interesa",
        "te interesa", "aproveche la promoción", "aprovecha la promoción", "aproveche el descuento",
        "qué tal si",
    ]),
    group(Cue::InAdvance, 1.0, &[
        "desde já", "antecipadamente", "de antemão", "in advance", "ahead of time", "beforehand",
        "de antemano", "por adelantado", "por anticipado", "desde ya", "anticipadamente",
    ]),
    group(Cue::NoHelp, 1.0, &[
        // "nothing" only when it ends the clause: "thanks for nothing", not "nothing else"
        "nada$", "nothing$", "absolutely nothing$", "não ajuda", "ajuda nenhuma", "nenhuma ajuda",
        "nenhuma solução", "solução nenhuma", "resposta nenhuma", "nenhuma resposta", "ajuda nula",
        "perder tempo", "perder meu tempo", "me fazer perder", "fazer perder", "me fazer esperar",
        "me enrolar", "enrolação", "no help", "no solution", "waste my time", "wasting",
        "wasted", "making me wait", "making me waste", "the runaround", "perder el tiempo",
        "perder mi tiempo", "hacerme perder", "hacerme esperar", "ninguna ayuda", "nada de ayuda",
        "nula ayuda", "ayuda nula",
        // grievances: what the thanks are "for" when they are a complaint
        "inútil", "descaso", "desrespeito", "demora", "complicated", "useless", "the delay",
        "the hassle", "la demora", "el desinterés", "pésima atención", "péssimo atendimento",
        "falta de", "lack of", "la falta de",
    ]),
    group(Cue::ClosingQuestion, 1.0, &[
        // pt-BR
        "posso ajudar em algo mais", "posso te ajudar em algo mais", "posso ajudar em mais algo",
        "posso ajudar em mais alguma coisa", "posso te ajudar em mais alguma coisa",
        "posso ajudar com mais alguma coisa", "ajudar em algo mais", "mais alguma coisa",
        "mais algo", "algo mais", "algo a mais", "precisa de mais alguma coisa",
        "precisa de algo mais", "deseja mais alguma coisa", "deseja algo mais",
        "mais alguma dúvida", "alguma outra dúvida", "ficou alguma dúvida", "ficou com alguma dúvida",
        "tem mais alguma dúvida", "mais alguma pergunta", "mais alguma solicitação",
        "em que mais posso ajudar", "posso ajudar em algo", "algo mais em que eu possa ajudar",
        // en
        "anything else", "is there anything else", "can i help with anything else",
        "can i help you with anything else", "anything more", "something else",
        "any other questions", "any other question", "any more questions",
        "any further questions", "anything further", "else can i help", "else i can help",
        "else i can do", "need anything else",
        // es
        "algo más", "puedo ayudarte en algo más", "puedo ayudarle en algo más",
        "necesitas algo más", "necesita algo más", "alguna otra cosa", "otra cosa",
        "alguna otra consulta", "alguna otra pregunta", "alguna otra duda", "en qué más",
        "te puedo ayudar con algo más",
    ]),
    group(Cue::ResolvedQuestion, 1.0, &[
        "consegui te ajudar", "consegui ajudar", "consegui sanar", "ficou claro", "deu certo",
        "funcionou", "resolveu", "ficou resolvido", "está resolvido", "conseguiu",
        "deu tudo certo", "ajudou", "tudo certo", "did that help", "does that help",
        "did that solve", "did that work", "did it work", "is it working", "is that clear",
        "did that answer", "was that helpful", "does that make sense", "te sirvió",
        "le sirvió", "te ayudó", "funcionó", "se solucionó", "se resolvió", "quedó claro",
        "quedó resuelto", "pude ayudarte", "está resuelto",
    ]),
];

/// Words that carry no meaning for closure: articles, pronouns, politeness, laughter.
/// A message made only of filler and closing phrases is a pure goodbye.
#[rustfmt::skip]
pub(crate) const FILLER: &[&str] = &[
    "a", "o", "os", "as", "um", "uma", "de", "do", "da", "dos", "das", "em", "no", "na", "nos",
    "nas", "por", "pelo", "pela", "pelos", "pelas", "para", "pra", "pro", "com", "e", "ou",
    "que", "eu", "voce", "vc", "voces", "vcs", "me", "te", "lhe", "meu", "minha", "seu", "sua",
    "ja", "entao", "tudo", "todo", "toda", "mesmo", "mesma", "muito", "muita", "mt", "mto",
    "bem", "bom", "boa", "dia", "tarde", "noite", "ta", "ah", "oh", "rs", "rsrs", "rsrsrs",
    "k", "haha", "hahaha", "hehe", "ajuda", "atencao", "atendimento", "suporte", "informacao",
    "informacoes", "info", "explicacao", "retorno", "paciencia", "senhor", "senhora", "amigo",
    "amiga", "querida", "querido", "pessoal", "equipe", "gente", "novamente", "demais", "mais",
    "the", "an", "and", "or", "for", "of", "to", "you", "your", "u", "so", "very", "much", "lot",
    "all", "again", "too", "really", "help", "support", "information", "time", "guys", "team",
    "sir", "maam", "well", "lol", "i", "im", "ive", "we", "it", "its", "el", "la", "los", "las", "una", "y", "del", "con", "tu",
    "usted", "muy", "mucho", "muchas", "muchos", "buena", "buen", "tardes", "noches",
    "ayuda", "atencion", "jaja", "jajaja", "hoje", "today", "hoy", "assim", "su", "sus", "ya",
    "mi", "mis", "my",
];

/// Words that negate what follows them ("não resolveu", "not working").
#[rustfmt::skip]
pub(crate) const NEGATORS: &[&str] = &[
    "nao", "no", "not", "nunca", "nem", "sem", "never", "isnt", "doesnt", "didnt", "wasnt",
    "hasnt", "havent", "dont", "cant", "wont", "arent", "tampoco", "jamas", "nope", "nah",
    "nada", "negativo",
];

/// Words that can form a question clause on their own without asking anything new
/// ("Vou aguardar então, tá? Obrigado!").
#[rustfmt::skip]
pub(crate) const TAGS: &[&str] = &[
    "ta", "ok", "okay", "ne", "certo", "blz", "beleza", "right", "vale", "sim", "si", "yes",
    "entendeu", "combinado", "pode", "ser", "eh", "e", "isso", "ah", "neh", "okey",
];
