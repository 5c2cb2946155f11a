import os

from flask import Flask, jsonify

from app.logsetup import configure

configure()
app = Flask(__name__)


@app.get("/healthz")
def health():
    return jsonify(ok=True)


@app.get("/items")
def items():
    return jsonify([])


if __name__ == "__main__":
    app.run(port=int(os.environ.get("PORT", "5000")))
