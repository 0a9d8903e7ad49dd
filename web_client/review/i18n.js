// Texts of the review pages in Kazakh, Russian and English (same approach as the student page):
// t(key, vars) picks the current language and falls back to English; [data-i18n] elements are filled by applyTexts().

export const LANGS = { kk: "Қазақша", ru: "Русский", en: "English" };

const en = {
  "app.title": "Proctor review", "lang.label": "Language", "signin.heading": "Sign in", "signin.email": "E-mail",
  "signin.password": "Password", "signin.submit": "Sign in", "signin.error": "Sign-in failed: check your e-mail and password.",
  "signin.refused": "Access refused: only proctors may open the review workspace.", "signout": "Sign out",
  "queue.heading": "Sessions waiting for review", "queue.live": "Live now", "queue.none": "No sessions match.",
  "queue.live_none": "No session is in progress.",
  "filter.college": "College", "filter.course": "Course", "filter.exam": "Exam", "filter.from": "From", "filter.to": "To",
  "filter.status": "Status", "filter.apply": "Apply", "filter.any": "any",
  "status.waiting": "waiting for review", "status.live": "live", "status.all": "all",
  "col.student": "Student", "col.exam": "Exam", "col.date": "Date", "col.state": "Attempt", "col.score": "Score",
  "col.events": "Events", "col.open": "Open",
  "state.created": "created", "state.ready_to_start": "ready", "state.started": "in progress", "state.submitted": "submitted",
  "state.verified": "verified", "state.rejected": "rejected", "state.second_review_required": "second review",
  "state.error": "technical error", "state.timed_out": "timed out",
  "session.back": "← Queue", "session.export": "Export report (HTML)", "session.score": "Integrity score",
  "session.duration": "Duration", "session.timeline": "Timeline", "session.signals": "Signals",
  "session.events": "Events", "session.identity": "Identity", "session.enrolment": "Enrolment photo", "session.reference": "College reference photo", "session.ref_match": "The photo taken now matches the reference (distance {d}, threshold {thr}).", "session.ref_mismatch": "The photo taken now does NOT match the reference (distance {d}, threshold {thr}): the attempt waits for a proctor's decision.", "session.no_reference": "No reference on file: the photo taken now is the exam's reference.", "session.ref_replaced": "Reference replaced by {by}: {reason}", "session.ref_decided": "Identity confirmed by {by}.",
  "session.checks": "Live frames at the identity checks", "session.room": "Room scan", "session.browser": "Browser events",
  "room.coverage": "Room shown: {deg}° of 360°", "room.faces": "Faces by angle", "room.no_faces": "none", "room.requested": "re-scan asked", "room.strip": "The room as the camera saw it (strip)",
  "session.no_room": "No room scan was recorded in this session.", "session.no_browser": "No browser events.",
  "session.no_photo": "The enrolment photo is not stored (only its hash).", "session.no_checks": "No identity check in this session.",
  "session.no_video": "No recording.", "session.no_series": "No signal series stored for this session.",
  "verify.chain": "Event chain", "verify.recording": "Recording hashes", "verify.evidence": "Evidence frames",
  "verify.ok": "verified", "verify.bad": "FAILED", "verify.warning": "This session's record failed verification: it may have been altered.",
  "plot.yaw": "head yaw/pitch (°)", "plot.faces": "faces", "plot.identity": "identity distance", "plot.audio": "audio (dBFS)",
  "ev.kind": "Kind", "ev.from": "From", "ev.to": "To", "ev.severity": "Severity", "ev.confidence": "Confidence", "ev.evidence": "Evidence",
  "sev.low": "low", "sev.medium": "medium", "sev.high": "high", "ev.open": "open",
  "decision.heading": "Decision", "decision.verify": "Verify (publish the grade)", "decision.reject": "Reject",
  "decision.second_review": "Send to second review", "decision.reason": "Reason / what was seen",
  "decision.comment": "Comment at the current time", "decision.add_comment": "Add comment at {t}",
  "decision.submit": "Record decision", "decision.done": "Decision recorded: the attempt is {state}.",
  "decision.error": "Not recorded: {error}", "decision.log": "Decision log", "decision.none": "No decision yet.",
  "decision.grade": "Grade: {status}", "decision.comments": "Comments",
  "live.heading": "Live session", "live.badge": "LIVE", "live.message": "Message to the student", "live.send": "Send",
  "live.sent": "Sent ({delivered}).", "live.delivered": "delivered", "live.not_delivered": "student not connected, logged",
  "live.end": "End the attempt", "live.end_reason": "Reason for ending", "live.ended": "Attempt ended: {state}.",
  "live.confirm_end": "End this attempt now?", "live.new": "new events arrive live",
  "kind.face_missing": "face missing", "kind.multiple_faces": "multiple faces", "kind.identity_mismatch": "identity mismatch",
  "kind.looking_away": "looking away", "kind.speech": "speech", "kind.noise": "noise", "kind.camera_blocked": "camera blocked",
  "kind.body_movement": "body movement", "kind.tab_switch": "tab switch", "kind.fullscreen_exit": "full screen left",
  "kind.copy_paste": "copy/paste", "kind.devtools": "developer tools", "kind.stream_lost": "stream lost",
  "kind.room_scan_completed": "room scan completed", "kind.room_scan_incomplete": "room scan incomplete",
};

const ru = {
  "app.title": "Проверка прокторинга", "lang.label": "Язык", "signin.heading": "Вход", "signin.email": "Эл. почта",
  "signin.password": "Пароль", "signin.submit": "Войти", "signin.error": "Не удалось войти: проверьте почту и пароль.",
  "signin.refused": "Доступ запрещён: рабочее место проверки только для прокторов.", "signout": "Выйти",
  "queue.heading": "Сессии, ожидающие проверки", "queue.live": "Сейчас идут", "queue.none": "Нет подходящих сессий.",
  "queue.live_none": "Сейчас нет идущих сессий.",
  "filter.college": "Колледж", "filter.course": "Курс", "filter.exam": "Экзамен", "filter.from": "С", "filter.to": "По",
  "filter.status": "Статус", "filter.apply": "Применить", "filter.any": "любой",
  "status.waiting": "ждут проверки", "status.live": "идут сейчас", "status.all": "все",
  "col.student": "Студент", "col.exam": "Экзамен", "col.date": "Дата", "col.state": "Попытка", "col.score": "Балл",
  "col.events": "События", "col.open": "Открыть",
  "state.created": "создана", "state.ready_to_start": "готова", "state.started": "идёт", "state.submitted": "сдана",
  "state.verified": "подтверждена", "state.rejected": "отклонена", "state.second_review_required": "вторая проверка",
  "state.error": "техническая ошибка", "state.timed_out": "время вышло",
  "session.back": "← Очередь", "session.export": "Экспорт отчёта (HTML)", "session.score": "Балл честности",
  "session.duration": "Длительность", "session.timeline": "Шкала времени", "session.signals": "Сигналы",
  "session.events": "События", "session.identity": "Личность", "session.enrolment": "Эталонное фото", "session.reference": "Эталонное фото колледжа", "session.ref_match": "Фото, снятое сейчас, совпадает с эталоном (расстояние {d}, порог {thr}).", "session.ref_mismatch": "Фото, снятое сейчас, НЕ совпадает с эталоном (расстояние {d}, порог {thr}): попытка ждёт решения проктора.", "session.no_reference": "Эталона нет: фото, снятое сейчас, стало эталоном экзамена.", "session.ref_replaced": "Эталон заменён ({by}): {reason}", "session.ref_decided": "Личность подтверждена ({by}).",
  "session.checks": "Кадры в моменты проверки личности", "session.room": "Осмотр комнаты", "session.browser": "События браузера",
  "room.coverage": "Показано комнаты: {deg}° из 360°", "room.faces": "Лица по углам", "room.no_faces": "нет", "room.requested": "запрошен повторный осмотр", "room.strip": "Комната, как её видела камера (полоса)",
  "session.no_room": "Осмотр комнаты в этой сессии не записан.", "session.no_browser": "Нет событий браузера.",
  "session.no_photo": "Эталонное фото не хранится (только его хеш).", "session.no_checks": "В сессии не было проверки личности.",
  "session.no_video": "Нет записи.", "session.no_series": "Для этой сессии ряды сигналов не сохранены.",
  "verify.chain": "Цепочка событий", "verify.recording": "Хеши записи", "verify.evidence": "Кадры-доказательства",
  "verify.ok": "проверено", "verify.bad": "НЕ ПРОЙДЕНО", "verify.warning": "Запись сессии не прошла проверку: её могли изменить.",
  "plot.yaw": "поворот/наклон головы (°)", "plot.faces": "лица", "plot.identity": "расстояние до эталона", "plot.audio": "звук (dBFS)",
  "ev.kind": "Тип", "ev.from": "С", "ev.to": "По", "ev.severity": "Важность", "ev.confidence": "Уверенность", "ev.evidence": "Доказательства",
  "sev.low": "низкая", "sev.medium": "средняя", "sev.high": "высокая", "ev.open": "идёт",
  "decision.heading": "Решение", "decision.verify": "Подтвердить (опубликовать оценку)", "decision.reject": "Отклонить",
  "decision.second_review": "На вторую проверку", "decision.reason": "Причина / что замечено",
  "decision.comment": "Комментарий к текущему моменту", "decision.add_comment": "Добавить комментарий на {t}",
  "decision.submit": "Записать решение", "decision.done": "Решение записано: попытка {state}.",
  "decision.error": "Не записано: {error}", "decision.log": "Журнал решений", "decision.none": "Решения ещё нет.",
  "decision.grade": "Оценка: {status}", "decision.comments": "Комментарии",
  "live.heading": "Идущая сессия", "live.badge": "ЭФИР", "live.message": "Сообщение студенту", "live.send": "Отправить",
  "live.sent": "Отправлено ({delivered}).", "live.delivered": "доставлено", "live.not_delivered": "студент не подключён, записано",
  "live.end": "Завершить попытку", "live.end_reason": "Причина завершения", "live.ended": "Попытка завершена: {state}.",
  "live.confirm_end": "Завершить эту попытку сейчас?", "live.new": "новые события появляются сразу",
  "kind.face_missing": "нет лица", "kind.multiple_faces": "несколько лиц", "kind.identity_mismatch": "другой человек",
  "kind.looking_away": "взгляд в сторону", "kind.speech": "речь", "kind.noise": "шум", "kind.camera_blocked": "камера закрыта",
  "kind.body_movement": "движение тела", "kind.tab_switch": "смена вкладки", "kind.fullscreen_exit": "выход из полноэкранного режима",
  "kind.copy_paste": "копирование/вставка", "kind.devtools": "инструменты разработчика", "kind.stream_lost": "поток потерян",
  "kind.room_scan_completed": "осмотр комнаты выполнен", "kind.room_scan_incomplete": "осмотр комнаты неполный",
};

const kk = {
  "app.title": "Прокторлық тексеру", "lang.label": "Тіл", "signin.heading": "Кіру", "signin.email": "Эл. пошта",
  "signin.password": "Құпиясөз", "signin.submit": "Кіру", "signin.error": "Кіру сәтсіз: поштаны және құпиясөзді тексеріңіз.",
  "signin.refused": "Кіруге тыйым салынған: тексеру орны тек прокторларға арналған.", "signout": "Шығу",
  "queue.heading": "Тексеруді күтетін сессиялар", "queue.live": "Қазір жүріп жатқандар", "queue.none": "Сәйкес сессия жоқ.",
  "queue.live_none": "Қазір жүріп жатқан сессия жоқ.",
  "filter.college": "Колледж", "filter.course": "Курс", "filter.exam": "Емтихан", "filter.from": "Бастап", "filter.to": "Дейін",
  "filter.status": "Күйі", "filter.apply": "Қолдану", "filter.any": "кез келген",
  "status.waiting": "тексеруді күтуде", "status.live": "қазір жүріп жатыр", "status.all": "барлығы",
  "col.student": "Студент", "col.exam": "Емтихан", "col.date": "Күні", "col.state": "Талпыныс", "col.score": "Балл",
  "col.events": "Оқиғалар", "col.open": "Ашу",
  "state.created": "құрылды", "state.ready_to_start": "дайын", "state.started": "жүріп жатыр", "state.submitted": "тапсырылды",
  "state.verified": "расталды", "state.rejected": "қабылданбады", "state.second_review_required": "қайта тексеру",
  "state.error": "техникалық қате", "state.timed_out": "уақыт бітті",
  "session.back": "← Кезек", "session.export": "Есепті экспорттау (HTML)", "session.score": "Адалдық балы",
  "session.duration": "Ұзақтығы", "session.timeline": "Уақыт шкаласы", "session.signals": "Сигналдар",
  "session.events": "Оқиғалар", "session.identity": "Тұлға", "session.enrolment": "Эталон фото", "session.reference": "Колледждің эталон фотосы", "session.ref_match": "Қазір түсірілген фото эталонға сәйкес (қашықтық {d}, шек {thr}).", "session.ref_mismatch": "Қазір түсірілген фото эталонға СӘЙКЕС ЕМЕС (қашықтық {d}, шек {thr}): әрекет проктордың шешімін күтеді.", "session.no_reference": "Эталон жоқ: қазір түсірілген фото емтиханның эталоны болды.", "session.ref_replaced": "Эталонды {by} ауыстырды: {reason}", "session.ref_decided": "Тұлғаны {by} растады.",
  "session.checks": "Тұлғаны тексеру сәттеріндегі кадрлар", "session.room": "Бөлмені қарау", "session.browser": "Браузер оқиғалары",
  "room.coverage": "Бөлме көрсетілді: 360°-тан {deg}°", "room.faces": "Бұрыштар бойынша беттер", "room.no_faces": "жоқ", "room.requested": "қайта көрсету сұралды", "room.strip": "Камера көрген бөлме (жолақ)",
  "session.no_room": "Бұл сессияда бөлмені қарау жазылмаған.", "session.no_browser": "Браузер оқиғалары жоқ.",
  "session.no_photo": "Эталон фото сақталмаған (тек оның хеші).", "session.no_checks": "Бұл сессияда тұлға тексерілмеген.",
  "session.no_video": "Жазба жоқ.", "session.no_series": "Бұл сессия үшін сигнал қатарлары сақталмаған.",
  "verify.chain": "Оқиғалар тізбегі", "verify.recording": "Жазба хештері", "verify.evidence": "Дәлел кадрлары",
  "verify.ok": "тексерілді", "verify.bad": "ӨТПЕДІ", "verify.warning": "Сессия жазбасы тексеруден өтпеді: ол өзгертілген болуы мүмкін.",
  "plot.yaw": "бастың бұрылысы/еңкеюі (°)", "plot.faces": "беттер", "plot.identity": "эталонға дейінгі қашықтық", "plot.audio": "дыбыс (dBFS)",
  "ev.kind": "Түрі", "ev.from": "Бастап", "ev.to": "Дейін", "ev.severity": "Маңыздылығы", "ev.confidence": "Сенімділік", "ev.evidence": "Дәлелдер",
  "sev.low": "төмен", "sev.medium": "орташа", "sev.high": "жоғары", "ev.open": "жүріп жатыр",
  "decision.heading": "Шешім", "decision.verify": "Растау (бағаны жариялау)", "decision.reject": "Қабылдамау",
  "decision.second_review": "Қайта тексеруге жіберу", "decision.reason": "Себебі / не байқалды",
  "decision.comment": "Ағымдағы сәтке түсініктеме", "decision.add_comment": "{t} сәтіне түсініктеме қосу",
  "decision.submit": "Шешімді жазу", "decision.done": "Шешім жазылды: талпыныс {state}.",
  "decision.error": "Жазылмады: {error}", "decision.log": "Шешімдер журналы", "decision.none": "Әзірге шешім жоқ.",
  "decision.grade": "Баға: {status}", "decision.comments": "Түсініктемелер",
  "live.heading": "Жүріп жатқан сессия", "live.badge": "ТІКЕЛЕЙ", "live.message": "Студентке хабарлама", "live.send": "Жіберу",
  "live.sent": "Жіберілді ({delivered}).", "live.delivered": "жеткізілді", "live.not_delivered": "студент қосылмаған, жазылды",
  "live.end": "Талпынысты аяқтау", "live.end_reason": "Аяқтау себебі", "live.ended": "Талпыныс аяқталды: {state}.",
  "live.confirm_end": "Бұл талпынысты қазір аяқтау керек пе?", "live.new": "жаңа оқиғалар бірден көрінеді",
  "kind.face_missing": "бет жоқ", "kind.multiple_faces": "бірнеше бет", "kind.identity_mismatch": "басқа адам",
  "kind.looking_away": "басқа жаққа қарау", "kind.speech": "сөйлеу", "kind.noise": "шу", "kind.camera_blocked": "камера жабық",
  "kind.body_movement": "дене қозғалысы", "kind.tab_switch": "қойынды ауыстыру", "kind.fullscreen_exit": "толық экраннан шығу",
  "kind.copy_paste": "көшіру/қою", "kind.devtools": "әзірлеуші құралдары", "kind.stream_lost": "ағын үзілді",
  "kind.room_scan_completed": "бөлме толық қаралды", "kind.room_scan_incomplete": "бөлме толық қаралмады",
};

const TEXTS = { kk, ru, en };
let current = "en";

export function initialLang() {
  const saved = localStorage.getItem("review.lang");
  if (saved && saved in TEXTS) return saved;
  const nav = (navigator.language || "en").slice(0, 2);
  return nav in TEXTS ? nav : "en";
}

export function setLang(lang) {
  current = lang in TEXTS ? lang : "en";
  localStorage.setItem("review.lang", current);
  document.documentElement.lang = current;
  applyTexts();
}

export function lang() { return current; }

export function t(key, vars = {}) {
  const text = TEXTS[current][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

export function applyTexts(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    const vars = el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : {};
    el.textContent = t(el.dataset.i18n, vars);
  }
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  document.title = t("app.title");
}
