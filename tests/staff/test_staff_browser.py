"""The staff pages end to end in headless Debian Chromium (Playwright): the whole app on uvicorn (SQLite, the demo
college), the college's page (a programme's plan checked live against the 30 % rule, refused then approved;
a person added; a course with an enrolment and a teacher; an API key that works; a webhook whose delivery log
shows a real delivery to a local receiver) and the teacher's page (a class, a material, a task graded, an exam
with its questions, results once verified, a learner's footprint plotted over time, survey results). Every
screen is checked with axe-core (no serious or critical violation) and at 200 % zoom; the server refuses the
wrong roles. Screenshots: test-artifacts/staff_*.png."""

from __future__ import annotations

import http.server
import json
import threading
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from a11y import assert_accessible, assert_reflows_at_200
from browsers import chromium, require_chromium, served
from seed_attempts import submitted_attempt
from server.cluster.procs import free_port
from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import (
    Answer, Attempt, Course, Enrolment, Exam, Programme, TaskSubmission, User, WebhookDelivery,
)
from server.settings import ServerSettings

ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ADMIN = ("admin@demo.college", "demo-admin-pass")
TEACHER = ("teacher@demo.college", "demo-teacher-pass")
STUDENT = ("student@demo.college", "demo-student-pass")


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        _Receiver.received.append({"headers": dict(self.headers), "body": json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def receiver():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hook"
    srv.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    from server.app import create_app

    tmp = tmp_path_factory.mktemp("staff")
    port = free_port()
    settings = ServerSettings(data_dir=tmp / "data", webhooks_enabled=True, webhook_allow_private_targets=True,
                              webhook_poll_interval_s=0.2, live_workers=1, log_level="WARNING", host="127.0.0.1",
                              port=port, seed_demo=True,  # the demo's passwords are generated unless given
                              demo_passwords={"college_admin": ADMIN[1], "teacher": TEACHER[1],
                                              "student": STUDENT[1], "proctor": "demo-proctor-pass"})
    app = create_app(settings)
    with served(app, port) as url:
        app.url = url
        yield app


@pytest.fixture(scope="module")
def browser(server):
    with chromium(ARGS) as b:
        yield b


def _token(server, who) -> str:
    return httpx.post(server.url + "/api/auth/login", json={"email": who[0], "password": who[1]}).json()["token"]


# The pages must work under a policy without inline script or style (the server's security headers will send one)
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'"
CSP_WATCH = ("document.addEventListener('securitypolicyviolation', e => "
             "(window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + (e.blockedURI || e.sample)))")


def _with_csp(route):
    response = route.fetch()
    route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})


def _sign_in(browser, server, who, path, refused=False):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    ctx.route(lambda url: "/staff/" in url and "/assets/" not in url, _with_csp)
    ctx.add_init_script(CSP_WATCH)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + path)
    page.wait_for_selector("#signin:not([hidden])")
    assert page.is_hidden("#signout"), "the sign-in form shows no 'Sign out'"
    assert_accessible(page, f"{path} signed out")
    page.fill("#email", who[0])
    page.fill("#password", who[1])
    page.press("#password", "Enter")
    page.wait_for_selector("#refused:not([hidden])" if refused else "#main:not([hidden])")
    assert page.is_visible("#signout")
    page.errors = errors
    return ctx, page


def _tab(page, name):
    page.click(f"nav.tabs button[data-tab='{name}']")
    page.wait_for_selector(f"body[data-loaded='{name}']")


def _check_screen(page, where, artifacts_dir, shot=None):
    assert_accessible(page, where)
    if shot:
        page.screenshot(path=str(artifacts_dir / f"staff_{shot}.png"), full_page=True)
    assert_reflows_at_200(page, where)


def _submitted_attempt(server, exam_title: str) -> int:
    """A submitted attempt of the demo student, auto-graded where it can be (its open answer waits for marking)."""
    with transaction(server.state.session_factory, write_lock=True) as db:
        student = db.execute(select(User).where(User.email == STUDENT[0])).scalar_one()
        exam = db.execute(select(Exam).where(Exam.title == exam_title)).scalar_one()
        n = len(db.execute(select(Attempt).where(Attempt.exam_id == exam.id, Attempt.student_id == student.id)).all())
        a = submitted_attempt(db, exam, student.id, n + 1,
                              [[1], [1, 2], "def", "a list built from a loop in one line"])
        return a.id


def _proctor_verifies(server, attempt_id: int) -> None:
    H = {"Authorization": f"Bearer {_token(server, ('proctor@demo.college', 'demo-proctor-pass'))}"}
    r = httpx.post(server.url + f"/api/proctor/attempts/{attempt_id}/review", headers=H,
                   json={"decision": "verify", "reason": "nothing seen"})
    assert r.status_code == 201, r.text


def _verified_attempt(server, exam_title: str) -> int:
    """A submitted attempt whose open answer the teacher marked (through the API) and a proctor verified."""
    attempt_id = _submitted_attempt(server, exam_title)
    teacher = {"Authorization": f"Bearer {_token(server, TEACHER)}"}
    with transaction(server.state.session_factory) as db:
        open_q = [q.id for q in db.get(Attempt, attempt_id).exam.questions if q.kind == "short_text" and not q.correct]
    for qid in open_q:
        assert httpx.put(server.url + f"/api/teacher/attempts/{attempt_id}/answers/{qid}/points", headers=teacher,
                         json={"points": 2}).status_code == 200
    _proctor_verifies(server, attempt_id)
    return attempt_id


def test_college_page_main_path(browser, server, receiver, artifacts_dir):
    ctx, page = _sign_in(browser, server, ADMIN, "/staff/college")
    page.wait_for_selector("body[data-loaded='programmes']")
    assert page.locator("#prog-rows tr[data-status='approved']").count() == 1  # the demo programme
    # a new programme: its plan is checked as it is typed
    page.fill("#prog-new input >> nth=0", "NET-2026")
    page.fill("#prog-new input >> nth=1", "Networks (evening)")
    page.click("#prog-new button[type=submit]")
    page.wait_for_selector("#prog-editor:not([hidden]) #plan-check[data-ok='false']")
    for title, hours, fmt, flag in (("Lectures", "20", "synchronous", None), ("Online course", "80", "asynchronous", None),
                                    ("Industrial training", "300", "synchronous", "industrial_training"),
                                    ("Professional practice", "100", "asynchronous", "professional_practice")):
        page.click("#add-item")
        row = page.locator("#plan-rows tr").last
        row.locator("input[type=text]").fill(title)
        row.locator("input[type=number]").first.fill(hours)
        row.locator("select").select_option(fmt)
        if flag:
            row.locator("input[type=checkbox]").nth(0 if flag == "industrial_training" else 1).check()
    page.wait_for_function("() => document.getElementById('fig-total')?.textContent === '500'")
    assert page.text_content("#fig-excluded").startswith("400")
    assert page.text_content("#fig-counted") == "100" and page.text_content("#fig-sync") == "20"
    assert "10 of the asynchronous hours would have to become synchronous" in page.text_content("#why-not")
    assert page.is_disabled("#approve")
    assert page.locator("#plan-rows tr.excluded").count() == 2
    _check_screen(page, "college: programme breaking the 30 % rule", artifacts_dir, "college_programme_refused")
    # raising the lectures to 40 of 120 counted hours meets the rule; saved and approved by the server
    page.locator("#plan-rows tr").first.locator("input[type=number]").first.fill("40")
    page.wait_for_selector("#plan-check[data-ok='true']")
    assert page.is_enabled("#approve")
    page.click("#approve")
    page.wait_for_selector("#prog-rows tr[data-status='approved'] >> text=NET-2026")
    with transaction(server.state.session_factory) as db:
        p = db.execute(select(Programme).where(Programme.code == "NET-2026")).scalar_one()
        assert p.status == "approved" and p.plan_check["ok"] is True and len(p.items) == 4
    _check_screen(page, "college: programme approved", artifacts_dir, "college_programmes")

    _tab(page, "people")
    form = page.locator("#people-new")
    form.locator("input[type=text]").first.fill("Dana Student")
    form.locator("input[type=email]").fill("dana@demo.college")
    form.locator("select").select_option("student")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#people-rows tr >> text=Dana Student")
    _check_screen(page, "college: people", artifacts_dir, "college_people")

    _tab(page, "courses")
    form = page.locator("#course-new")
    form.locator("input").nth(0).fill("NET-101")
    form.locator("input").nth(1).fill("Computer networks")
    form.locator("select").select_option(label="NET-2026 Networks (evening)")
    form.locator("button[type=submit]").click()
    row = page.locator("#course-rows tr", has_text="NET-101")
    row.wait_for()
    row.locator("button").click()
    page.wait_for_selector("#course-detail:not([hidden])")
    page.select_option("#enrol-student", label="Dana Student (dana@demo.college)")
    page.click("#enrol-form button[type=submit]")
    page.wait_for_selector("#enrolled li[data-student]")
    page.select_option("#assign-teacher", label="Timur Teacher")
    page.click("#teacher-form button[type=submit]")
    page.wait_for_selector("#status.ok")
    with transaction(server.state.session_factory) as db:
        c = db.execute(select(Course).where(Course.code == "NET-101")).scalar_one()
        dana = db.execute(select(User).where(User.email == "dana@demo.college")).scalar_one()
        assert db.execute(select(Enrolment).where(Enrolment.course_id == c.id, Enrolment.student_id == dana.id)).first()
    _check_screen(page, "college: courses and enrolments", artifacts_dir, "college_courses")

    _tab(page, "integrations")
    page.fill("#key-new input", "Moodle plugin")
    page.click("#key-new button[type=submit]")
    key = page.locator("#new-key").text_content()
    assert key.startswith("pk_")
    assert httpx.get(server.url + "/api/v1/courses", headers={"X-API-Key": key}).status_code == 200
    page.fill("#hook-new input", receiver)
    page.click("#hook-new button[type=submit]")
    page.wait_for_selector(f"#hook-rows tr >> text={receiver}")
    _verified_attempt(server, "Programming in Python: intermediate attestation")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with transaction(server.state.session_factory) as db:
            if db.execute(select(WebhookDelivery).where(WebhookDelivery.status == "delivered")).first():
                break
        time.sleep(0.2)
    assert _Receiver.received and _Receiver.received[-1]["body"]["type"] == "attempt.verified"
    page.locator("#hook-rows tr", has_text=receiver).locator("button", has_text="Delivery log").click()
    page.wait_for_selector("#deliveries tr[data-status='delivered']")
    _check_screen(page, "college: API keys and webhooks", artifacts_dir, "college_integrations")
    # the key can be revoked from the page
    page.locator("#key-rows tr", has_text="Moodle plugin").locator("button").click()
    page.wait_for_selector("#key-rows tr[data-revoked='1'] >> text=Moodle plugin")
    assert httpx.get(server.url + "/api/v1/courses", headers={"X-API-Key": key}).status_code == 401
    # three languages
    page.select_option("#lang", "kk")
    assert page.text_content("h1") == "Колледж"
    page.select_option("#lang", "ru")
    assert page.text_content("nav.tabs button[data-tab='people']") == "Люди"
    page.select_option("#lang", "en")
    assert not page.errors, page.errors
    assert page.evaluate("window.__csp || []") == []
    # the policy was in force: an inline script is refused
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1';"
                  " document.body.append(s); }")
    page.wait_for_function("() => (window.__csp || []).length > 0")
    assert page.evaluate("window.__inline") is None
    ctx.close()


def test_college_reference_photos(browser, server, data_dir, artifacts_dir):
    """The college admin picks a student, is told why a photo was refused (no face, two faces: translated), registers
    a real face photo, replaces it (the first is kept, marked retired) and retires the one in use."""
    ctx, page = _sign_in(browser, server, ADMIN, "/staff/college")
    page.wait_for_selector("body[data-loaded='programmes']")
    _tab(page, "references")
    with transaction(server.state.session_factory) as db:
        student = db.execute(select(User).where(User.email == STUDENT[0])).scalar_one()
        student_id, name = student.id, student.full_name
    page.select_option("#ref-student-select", str(student_id))
    page.click("#ref-pick button[type=submit]")
    page.wait_for_selector("#ref-student:not([hidden])")
    assert page.text_content("#ref-student-h") == f"References of {name}"
    upload = page.locator("#ref-upload button[type=submit]")

    def send(*paths):
        page.set_input_files("#ref-files", [str(data_dir / p) for p in paths])
        upload.click()

    send("special/no_human_face_dogs.jpg")
    page.wait_for_selector("#ref-error[data-reason='no_face']")
    assert page.text_content("#ref-error") == "Photo 1 was refused: no face was found in it"
    assert "no face was found" in page.text_content("#status")  # announced too, without moving the focus
    send("faces/barack_obama/01.jpg", "groups/obama_biden_side_by_side.jpg")
    page.wait_for_selector("#ref-error[data-reason='multiple_faces']")
    assert page.text_content("#ref-error") == "Photo 2 was refused: it shows more than one face"
    page.select_option("#lang", "ru")
    assert page.text_content("#ref-student-h") == f"Эталоны: {name}"
    page.select_option("#lang", "en")
    H = {"Authorization": f"Bearer {_token(server, ADMIN)}"}
    api = f"{server.url}/api/v1/students/{student_id}/reference-photos"
    assert httpx.get(api, headers=H).json() == []  # nothing was registered by the refused uploads
    send("faces/barack_obama/01.jpg")
    page.wait_for_selector("#ref-list li[data-active='1']")
    assert page.text_content("#ref-error") == ""
    send("faces/barack_obama/02.jpg", "faces/barack_obama/03.jpg")
    page.wait_for_selector("#ref-list li[data-active='0']")
    refs = httpx.get(api, headers=H).json()
    assert [r["active"] for r in refs] == [True, False] and [len(r["photos"]) for r in refs] == [2, 1]
    shown = [(int(li.get_attribute("data-ref")), li.get_attribute("data-active"))
             for li in page.locator("#ref-list li.ref").all()]
    assert shown == [(refs[0]["id"], "1"), (refs[1]["id"], "0")]  # newest first, the retired one marked
    wait_until = "() => [...document.querySelectorAll('#ref-list img')].every(i => i.complete && i.naturalWidth > 0)"
    page.wait_for_function(wait_until)
    assert page.locator("#ref-list img").count() == 3
    _check_screen(page, "college: reference photos", artifacts_dir, "college_references")
    # the README's copy: the same screen with the photos blurred (the shared data's faces are not copied into the repo)
    page.evaluate("() => document.querySelectorAll('#ref-list img').forEach(i => { i.style.filter = 'blur(6px)'; })")
    page.screenshot(path=str(artifacts_dir / "staff_college_references_blurred.png"), full_page=True)
    page.click("#ref-list li[data-active='1'] button.danger")
    page.wait_for_selector("#ref-list li.ref:first-child[data-active='0']")
    refs = httpx.get(api, headers=H).json()
    assert not any(r["active"] for r in refs) and refs[0]["retired_by"]
    assert not page.errors, page.errors
    assert page.evaluate("window.__csp || []") == []
    ctx.close()


def test_teacher_page_main_path(browser, server, artifacts_dir):
    student = {"Authorization": f"Bearer {_token(server, STUDENT)}"}
    ctx, page = _sign_in(browser, server, TEACHER, "/staff/teacher")
    page.wait_for_selector("body[data-loaded='content']")
    assert "PY-101 Programming in Python" in page.locator("#course option").all_text_contents()
    if page.input_value("#course") != page.get_attribute("#course option:has-text('PY-101')", "value"):
        page.select_option("#course", label="PY-101 Programming in Python")
        page.wait_for_selector("body[data-loaded='content']")
    # a class that is running now, and a material
    form = page.locator("#class-new")
    form.locator("input[type=text]").fill("Week 3: loops (live)")
    start = page.evaluate("() => { const d = new Date(Date.now() - 5 * 60000); const p = n => String(n).padStart(2, '0');"
                          " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`; }")
    form.locator("input[type=datetime-local]").fill(start)
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#class-list li >> text=Week 3: loops (live)")
    page.locator("#material-new input[type=text]").fill("Loops, illustrated")
    page.locator("#material-new input[type=url]").fill("https://docs.python.org/3/tutorial/controlflow.html")
    page.locator("#material-new button[type=submit]").click()
    page.wait_for_selector("#material-list li >> text=Loops, illustrated")
    _check_screen(page, "teacher: classes and materials", artifacts_dir, "teacher_content")
    # the student uses them (the footprint), and hands in the demo task
    courses = httpx.get(server.url + "/api/learning/courses", headers=student).json()[0]
    live = next(c for c in courses["classes"] if c["title"] == "Week 3: loops (live)")
    assert httpx.post(server.url + f"/api/learning/classes/{live['id']}/join", headers=student).status_code == 200
    mat = next(m for m in courses["materials"] if m["title"] == "Loops, illustrated")
    assert httpx.post(server.url + f"/api/learning/materials/{mat['id']}/open", headers=student).status_code == 200
    task = courses["tasks"][0]
    assert httpx.post(server.url + f"/api/learning/tasks/{task['id']}/submit", headers=student,
                      json={"content": "for i in range(3): print(i)"}).status_code == 201

    _tab(page, "tasks")
    page.locator("#task-rows tr", has_text=task["title"]).locator("button").click()
    page.wait_for_selector("#hand-ins:not([hidden]) tr[data-student]")
    page.locator("#hand-ins tr[data-student] input").fill("8")
    page.locator("#hand-ins tr[data-student] button").click()
    page.wait_for_selector("#task-rows tr >> text=1 handed in, 1 graded")
    with transaction(server.state.session_factory) as db:
        assert db.execute(select(TaskSubmission.points).where(TaskSubmission.task_id == task["id"])).scalar_one() == 8
    _check_screen(page, "teacher: tasks and hand-ins", artifacts_dir, "teacher_tasks")

    _tab(page, "exams")
    form = page.locator("#exam-new")
    form.locator("input[type=text]").fill("Loops quiz")
    form.locator("select").select_option("practice")
    form.locator("input[type=checkbox]").uncheck()
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#question-editor:not([hidden])")
    page.wait_for_selector("#status[data-i18n='msg.created']")
    page.click("#q-add")
    q = page.locator("#q-list fieldset").last
    q.locator("textarea").nth(0).fill("How many times does range(3) loop?")
    q.locator("textarea").nth(1).fill("2\n3\n4")
    q.locator("input[type=text]").fill("2")
    page.click("#q-save")
    page.wait_for_selector("#status[data-i18n='msg.saved'], #status.bad")
    assert page.get_attribute("#status", "data-i18n") == "msg.saved", page.text_content("#status")
    page.wait_for_function("() => document.querySelector('#exam-rows tr[data-exam]:last-child td:nth-child(4)')?.textContent === '1'")
    with transaction(server.state.session_factory) as db:
        exam = db.execute(select(Exam).where(Exam.title == "Loops quiz")).scalar_one()
        assert [(x.kind, x.options, x.correct) for x in exam.questions] == [("single_choice", ["2", "3", "4"], [1])]
        assert exam.proctored is False and exam.type == "practice"
    _check_screen(page, "teacher: exams and questions", artifacts_dir, "teacher_exams")

    # results: the open answer is marked on the page, a proctor verifies, the grade shows
    attempt_id = _submitted_attempt(server, "Programming in Python: intermediate attestation")
    _tab(page, "results")
    page.select_option("#results-exam", label="Programming in Python: intermediate attestation")
    page.wait_for_selector(f"#result-rows tr[data-attempt='{attempt_id}'][data-state='submitted']")
    assert page.locator(f"#result-rows tr[data-attempt='{attempt_id}'] td").nth(3).text_content() == "pending"
    mark = page.locator(f"#to-mark form[data-attempt='{attempt_id}']")
    assert "a list built from a loop" in mark.text_content()
    mark.locator("input").fill("1.5")
    mark.locator("button").click()
    page.wait_for_selector(f"#to-mark form[data-attempt='{attempt_id}']", state="detached")
    with transaction(server.state.session_factory) as db:
        a = db.get(Attempt, attempt_id)
        assert a.needs_manual_grading is False and [x.manual_points for x in a.answers if x.manual_points is not None] == [1.5]
    _proctor_verifies(server, attempt_id)
    page.select_option("#results-exam", label="Practice quiz")
    page.wait_for_selector("body[data-loaded='results']")
    page.select_option("#results-exam", label="Programming in Python: intermediate attestation")
    page.wait_for_selector(f"#result-rows tr[data-attempt='{attempt_id}'][data-state='verified']")
    grade = page.locator(f"#result-rows tr[data-attempt='{attempt_id}'] td").nth(3).text_content()
    with transaction(server.state.session_factory) as db:
        a = db.get(Attempt, attempt_id)
        assert grade.startswith(f"{a.score:g} / {a.max_score:g}")
    _check_screen(page, "teacher: results", artifacts_dir, "teacher_results")

    _tab(page, "footprint")
    row = page.locator("#fp-rows tr", has_text="Sanzhar Student")
    assert "1/2" in row.locator("td").nth(2).text_content()  # materials opened of the course's two
    row.locator("button").click()
    page.wait_for_selector("#fp-plot path[data-series='attendance_pct']")
    assert page.locator("#fp-plot circle[data-series='grade']").count() >= 1
    _check_screen(page, "teacher: footprint over time", artifacts_dir, "teacher_footprint")

    survey = httpx.get(server.url + "/api/surveys", headers=student).json()[0]
    qids = [x["id"] for x in survey["questions"]]
    assert httpx.post(server.url + f"/api/surveys/{survey['id']}/responses", headers=student, json={
        "course_id": courses["id"], "answers": [{"question_id": qids[0], "value": 4},
                                                {"question_id": qids[1], "value": "more exercises"}]}).status_code == 201
    _tab(page, "surveys")
    assert page.text_content("#survey-count") == "1 responses from this course"
    assert "more exercises" in page.text_content("#survey-results")
    _check_screen(page, "teacher: survey results", artifacts_dir, "teacher_surveys")
    assert not page.errors, page.errors
    assert page.evaluate("window.__csp || []") == []
    ctx.close()


def test_staff_home_and_refusals(browser, server, artifacts_dir):
    ctx, page = _sign_in(browser, server, TEACHER, "/staff/")
    page.wait_for_selector("body[data-loaded='home']")
    assert page.is_visible("#go-teacher") and page.is_hidden("#go-college") and page.is_hidden("#go-review")
    _check_screen(page, "staff home (teacher)", artifacts_dir, "home")
    ctx.close()
    # a student on a staff page is refused by the page, and by the server when the page is asked for again
    ctx, page = _sign_in(browser, server, STUDENT, "/staff/college", refused=True)
    assert page.is_hidden("#main")
    assert_accessible(page, "college page refusing a student")
    ctx.close()
    proctor = ("proctor@demo.college", "demo-proctor-pass")
    for who, path, status in ((STUDENT, "/staff/", 403), (proctor, "/staff/", 200), (proctor, "/staff/teacher", 403),
                              (STUDENT, "/staff/college", 403), (STUDENT, "/staff/teacher", 403),
                              (TEACHER, "/staff/college", 403), (TEACHER, "/staff/teacher", 200),
                              (ADMIN, "/staff/college", 200), (ADMIN, "/staff/teacher", 200)):
        r = httpx.get(server.url + path, headers={"Authorization": f"Bearer {_token(server, who)}"})
        assert r.status_code == status, (who, path)
    assert httpx.get(server.url + "/staff/college").status_code == 200  # not signed in: the sign-in form
