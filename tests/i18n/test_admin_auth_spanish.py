"""Sign-in, account, admin and error pages in Spanish: the templates' text, and the text that comes
from Python (form labels, WTForms' and the services' refusals, flashes, device names)."""

from __future__ import annotations

from roi.actor import Role
from roi.web.auth import views as auth_views
from tests.factories import make_user
from tests.helpers import csrf_token, delivered_mail, login_as, post_form
from tests.i18n.spanish import ENGLISH, SPANISH, visible_text

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def assert_spanish(response, *phrases: str) -> str:
    html = response.get_data(as_text=True)
    text = " ".join(visible_text(html).split())
    assert '<html lang="es">' in html
    for phrase in phrases:
        assert phrase in text, phrase
    assert ENGLISH.findall(text) == [], text
    return text


def test_signing_in_with_mistakes_is_explained_in_spanish(client, clinician):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = SPANISH["Accept-Language"]
    page = client.get("/account/sessions", follow_redirects=True)
    assert_spanish(page, "Inicie sesión para continuar.", "Inicie sesión en roi")
    empty = client.post("/login", data={"csrf_token": csrf_token(page)})
    assert_spanish(empty, "Correo electrónico: Este campo es obligatorio.")
    wrong = client.post(
        "/login",
        data={
            "email": clinician.email,
            "password": "not the password",
            "csrf_token": csrf_token(page),
        },
    )
    assert_spanish(wrong, "Ese correo electrónico y esa contraseña no coinciden")


def test_the_second_step_refuses_a_wrong_code_in_spanish(client, clinician):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = SPANISH["Accept-Language"]
    page = client.get("/login")
    client.post(
        "/login",
        data={
            "email": clinician.email,
            "password": clinician.password,
            "csrf_token": csrf_token(page),
        },
    )
    step = client.get("/login/second-factor")
    assert_spanish(step, "Confirme que es usted", "Cancelar y cerrar sesión")
    refused = client.post(
        "/login/second-factor", data={"code": "000000", "csrf_token": csrf_token(step)}
    )
    assert refused.status_code == 401
    assert_spanish(refused, "Ese código no es correcto o ya se usó.")


def test_password_reset_pages_and_mail_speak_spanish(app, client, clinician):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = SPANISH["Accept-Language"]
    page = client.get("/password-reset")
    assert_spanish(page, "Restablezca su contraseña", "Enviar el enlace")
    sent = client.post(
        "/password-reset", data={"email": clinician.email, "csrf_token": csrf_token(page)}
    )
    assert_spanish(sent, "Revise su correo electrónico")
    # asked in Spanish, by an account that has not picked a language: the mail is in Spanish
    (mail,) = delivered_mail(app)
    assert mail["Subject"] == "Restablezca su contraseña de roi"
    assert "Alguien, probablemente usted, pidió restablecer" in mail.get_content()
    dead = client.get("/password-reset/not-a-token")
    assert_spanish(dead, "Este enlace caducó o ya se usó.")


def test_account_pages_speak_spanish(app, client, clinician):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = SPANISH["Accept-Language"]
    client.environ_base["HTTP_USER_AGENT"] = ANDROID_CHROME
    login_as(client, clinician.email, clinician.password)
    assert_spanish(client.get("/account/sessions"), "Sus sesiones", "Chrome en Android")
    security = client.get("/account/security")
    assert_spanish(security, "Seguridad de acceso", "Sus preferencias", "Su zona horaria")
    assert_spanish(client.get("/account/passkeys"), "Llaves de acceso")
    short = post_form(
        client,
        "/account/password",
        "/account/password",
        {"current_password": clinician.password, "new_password": "short"},
    )
    assert short.status_code == 422
    assert_spanish(short, "Use al menos 12 caracteres.")


def test_admin_pages_speak_spanish_and_name_roles_in_words(client, session, clinician):
    admin = make_user(session, Role.ADMIN, name="Alex Morgan")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = SPANISH["Accept-Language"]
    login_as(client, admin.email, admin.password)
    users = assert_spanish(client.get("/admin/users"), "Usuarios", "Profesional clínico")
    assert " clinician " not in users.replace(clinician.email, "")
    settings = assert_spanish(
        client.get("/admin/settings"),
        "Configuración de la consulta",
        "Hora del Centro (America/Chicago)",
    )
    assert "Sin definir" in settings
    confirm = client.get(f"/admin/users/{clinician.user.id}/disable")
    assert_spanish(confirm, f"¿Desactivar a {clinician.user.name}?", "Profesional clínico")
    assert_spanish(client.get(f"/admin/users/{clinician.user.id}"), "Restablecer el segundo factor")
    assert_spanish(
        client.get(f"/admin/users/{clinician.user.id}/reset-second-factor"),
        f"¿Restablecer el segundo factor de {clinician.user.name}?",
    )
    assert_spanish(client.get("/admin/directory"), "Sus entradas del directorio")
    assert_spanish(client.get("/admin/mail"), "Correo no entregado")
    assert_spanish(client.get("/admin/"), "Administración")
    new = post_form(client, "/admin/users/new", "/admin/users/new", {"role": "clinician"})
    assert new.status_code == 422
    assert_spanish(new, "Nombre: Este campo es obligatorio.")


def test_error_pages_speak_spanish(client, session, clinician, monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = SPANISH["Accept-Language"]
    assert_spanish(client.get("/no-such-page"), "Aquí no hay nada")
    expired = client.post("/login", data={"email": clinician.email, "password": "x"})
    assert expired.status_code == 400
    assert_spanish(expired, "Este formulario caducó o vino de otra página.")
    login_as(client, clinician.email, clinician.password)
    refused = client.get("/admin/")
    assert refused.status_code == 403
    assert_spanish(refused, "No permitido")
    monkeypatch.setattr(auth_views.sessions, "live_sessions", broken)
    failed = client.get("/account/sessions")
    assert failed.status_code == 500
    assert_spanish(failed, "Algo salió mal", "No se cambió nada")


def test_setting_up_a_second_factor_speaks_spanish(client, session):
    newcomer = make_user(session, Role.CLINICIAN, second_factor=False)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = SPANISH["Accept-Language"]
    login_as(client, newcomer.email, newcomer.password)
    page = client.get("/account/mfa/totp")
    assert_spanish(page, "Configurar una aplicación de autenticación", "Escanee este código:")
    assert "Código QR para su aplicación de autenticación" in page.get_data(as_text=True)
    wrong = client.post(
        "/account/mfa/totp", data={"code": "000000", "csrf_token": csrf_token(page)}
    )
    assert wrong.status_code == 422
    assert_spanish(wrong, "Ese código no es correcto. Revise la hora de su teléfono.")
