from app.routes import handle


def test_create_and_get():
    status, item = handle("POST", "/items", {"json": {"name": "apple", "quantity": 3}})
    assert status == 201
    assert handle("GET", f"/items/{item['id']}")[1]["name"] == "apple"


def test_name_is_required():
    assert handle("POST", "/items", {"json": {}})[0] == 422
