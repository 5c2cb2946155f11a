import time

SLEEP = {"/api/transfers": 0.030, "/api/accounts": 0.005}


def app(environ, start_response):
    path = environ["PATH_INFO"]
    key = "/api/accounts" if path.startswith("/api/accounts/") else path
    time.sleep(SLEEP.get(key, 0.001))
    body = b'{"ok":true}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
