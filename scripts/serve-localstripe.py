"""Starts localstripe (a stateful Stripe stand-in) on a loopback port the
kernel picks, prints the port on the first line of stdout, then serves
until killed. localstripe's own `--port` listens on every interface."""

import logging
import os
import socket
import sys

from aiohttp import web
from localstripe.errors import UserError
from localstripe.resources import PaymentIntent, SetupIntent, store
import localstripe.server
from localstripe.server import app

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
print(sock.getsockname()[1], flush=True)
# Every write would pickle the whole store to /tmp/localstripe.pickle,
# which no run of ours reads back (and concurrent runs would share).
store.dump_to_disk = lambda: None


# localstripe's Stripe.js declares `class Element` at the top level of a
# classic script, which shadows the DOM's `Element` for every script of the
# page (wasm-bindgen's `instanceof Element` checks then fail). Served inside
# a function scope, only `Stripe` (an undeclared assignment) goes global,
# as with the real Stripe.js.
JS_PATH = "/js.stripe.com/v3/"
with open(os.path.join(os.path.dirname(localstripe.server.__file__), "localstripe-v3.js")) as f:
    SCOPED_JS = "(function () {\n" + f.read() + "\n})();\n"


@web.middleware
async def scoped_stripe_js(request, handler):
    if request.path == JS_PATH:
        return web.Response(text=SCOPED_JS, content_type="application/javascript")
    return await handler(request)


app.middlewares.append(scoped_stripe_js)

# Stripe refuses to capture a cancelled PaymentIntent (an authorisation
# that expired after 7 days, say); localstripe captures it anyway.
_capture = PaymentIntent._api_capture.__func__


def _capture_unless_cancelled(cls, id, **kwargs):
    if cls._api_retrieve(id).status == "canceled":
        raise UserError(400, "This PaymentIntent could not be captured because it has a status of canceled.")
    return _capture(cls, id, **kwargs)


PaymentIntent._api_capture = classmethod(_capture_unless_cancelled)
for route in app.router.routes():
    if route.method == "POST" and route.resource.canonical == "/v1/payment_intents/{id}/capture":
        route._handler = localstripe.server.api_extra(PaymentIntent._api_capture, route.resource.canonical)

# Stripe attaches the card of a succeeded SetupIntent to the SetupIntent's
# customer (removing a saved card detaches it again); localstripe leaves it
# unattached.
_attach_pm = SetupIntent._attach_pm


def _attach_pm_to_customer(self, pm):
    _attach_pm(self, pm)
    if self.status == "succeeded" and getattr(self, "customer", None):
        pm.customer = self.customer


SetupIntent._attach_pm = _attach_pm_to_customer

# Stripe lists a customer's PaymentIntents (`GET /v1/payment_intents?customer=`);
# localstripe's list takes no filter and refuses the parameter. The job that
# recovers stranded orders finds an unrecorded authorisation this way.
_list_all = PaymentIntent._api_list_all.__func__


def _list_all_of_customer(cls, url, customer=None, **kwargs):
    listed = _list_all(cls, url, **kwargs)
    if customer is not None:
        listed._list = [pi for pi in listed._list if pi.customer == customer]
    return listed


PaymentIntent._api_list_all = classmethod(_list_all_of_customer)
logging.basicConfig(level=logging.WARNING)
web.run_app(app, sock=sock, print=None, access_log=None)
