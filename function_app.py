"""The Azure Functions app (Python v2 programming model): ``func start`` locally,
``func azure functionapp publish <app>`` to deploy.

- ``diagnostics``: Event Hubs trigger on the endpoints' diagnostic settings (push).
- ``poll``: timer that reads a Log Analytics workspace (pull) and retries pending alerts.
"""

import azure.functions as func

from functions.azure import eventhub, timer

app = func.FunctionApp()
app.register_functions(eventhub.bp)
app.register_functions(timer.bp)
