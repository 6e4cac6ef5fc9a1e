"""Writes the recorded-format sample events in tests/events/ from readable definitions.

CloudWatch Logs delivers subscription data as base64(gzip(json)); the samples are stored in that
encoded form, exactly as a Lambda receives them. Run this file to regenerate them after editing.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
T0 = 1795090400000  # 2026-11-19T12:13:20Z, in epoch milliseconds


def awslogs(
    group: str, stream: str, messages: list[str], kind: str = "DATA_MESSAGE"
) -> dict[str, Any]:
    """A CloudWatch Logs subscription delivery carrying ``messages`` as consecutive events."""
    payload = {
        "messageType": kind,
        "owner": "123456789012",
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": ["medic-errors"],
        "logEvents": [
            {
                "id": str(37000000000000000000000000000000000000000000000000000000 + i),
                "timestamp": T0 + i * 250,
                "message": m,
            }
            for i, m in enumerate(messages)
        ],
    }
    raw = gzip.compress(json.dumps(payload).encode(), mtime=0)
    return {"awslogs": {"data": base64.b64encode(raw).decode()}}


def console(
    endpoint: str, deployment: str, container: str, lines: list[str]
) -> list[dict[str, Any]]:
    rid = (
        "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/ML-RG/PROVIDERS/"
        f"MICROSOFT.MACHINELEARNINGSERVICES/WORKSPACES/ML-WS/ONLINEENDPOINTS/{endpoint.upper()}"
    )
    return [
        {
            "time": f"2026-11-19T12:13:{20 + i:02d}.0000000Z",
            "resourceId": rid,
            "category": "AmlOnlineEndpointConsoleLog",
            "operationName": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/ConsoleLog",
            "location": "westeurope",
            "properties": {
                "DeploymentName": deployment,
                "InstanceId": "blue-7d9f8c6b5-x2lqp",
                "ContainerName": container,
                "ContainerId": "4f1c2b9a",
                "Message": line,
            },
        }
        for i, line in enumerate(lines)
    ]


def kinesis(deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    """A Kinesis Data Streams batch whose records carry subscription deliveries."""
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "a7f5c2e1",
                    "sequenceNumber": f"4965931245066512873017850371{i:022d}",
                    "data": delivery["awslogs"]["data"],
                    "approximateArrivalTimestamp": 1795090401.5,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:4965931245066512873017850371{i:022d}",
                "eventName": "aws:kinesis:record",
                "awsRegion": "eu-west-1",
                "eventSourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/medic-logs",
            }
            for i, delivery in enumerate(deliveries)
        ]
    }


AWS: dict[str, Any] = {
    "cloudwatch_pipeline_cuda_oom.json": awslogs(
        "/aws/sagemaker/Endpoints/fraud-detector",
        "AllTraffic/i-0a1b2c3d4e5f60718/container-2",
        [
            "2026-11-19 12:13:20,101 [INFO ] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerLifeCycle - Loaded model on cuda:0",
            '2026-11-19 12:13:21,412 [INFO ] pool-2-thread-3 ACCESS_LOG - /10.0.3.17:41236 "GET /ping HTTP/1.1" 200 1',
            "2026-11-19 12:13:22,930 [INFO ] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerLifeCycle - Traceback (most recent call last):",
            '2026-11-19 12:13:22,931 [INFO ] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerLifeCycle -   File "/opt/ml/model/code/inference.py", line 41, in predict_fn',
            "2026-11-19 12:13:22,931 [INFO ] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerLifeCycle -     logits = model(**batch).logits",
            "2026-11-19 12:13:22,932 [INFO ] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerLifeCycle - torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.50 GiB (GPU 0; 14.75 GiB total capacity; 11.92 GiB already allocated; 1.21 GiB free; 12.10 GiB reserved in total by PyTorch)",
        ],
    ),
    "cloudwatch_missing_module.json": awslogs(
        "/aws/sagemaker/Endpoints/churn-xgb",
        "AllTraffic/i-0f9e8d7c6b5a49382",
        [
            "Warning: MMS is using non-default JVM parameters: -XX:-UseContainerSupport",
            "2026-11-19 12:13:20,500 [INFO ] main com.amazonaws.ml.mms.ModelServer - Loading initial models: model.tar.gz",
            "2026-11-19 12:13:24,017 [INFO ] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerLifeCycle - Traceback (most recent call last):",
            '2026-11-19 12:13:24,018 [INFO ] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerLifeCycle -   File "/opt/ml/model/code/inference.py", line 3, in <module>',
            "2026-11-19 12:13:24,018 [INFO ] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerLifeCycle -     import lightgbm",
            "2026-11-19 12:13:24,019 [INFO ] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerLifeCycle - ModuleNotFoundError: No module named 'lightgbm'",
            "2026-11-19 12:13:24,120 [INFO ] W-9000-model com.amazonaws.ml.mms.wlm.WorkerThread - Backend worker process died.",
        ],
    ),
    "cloudwatch_lambda_caller_modelerror.json": awslogs(
        "/aws/lambda/score-transactions",
        "2026/11/19/[$LATEST]5d1c9a7e0f2b4c6d8e0a1b2c3d4e5f60",
        [
            "START RequestId: 6f1d1a52-0c0e-4f0c-9d43-8f7c2b1e9a10 Version: $LATEST",
            '[ERROR] ModelError: An error occurred (ModelError) when calling the InvokeEndpoint operation: Received client error (413) from primary with message "Failed to buffer the request body: length limit exceeded". See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/aws/sagemaker/Endpoints/churn-xgb in account 123456789012 for more information.\nTraceback (most recent call last):\n  File "/var/task/app.py", line 22, in handler\n    response = runtime.invoke_endpoint(EndpointName=ENDPOINT, Body=body)',
            "END RequestId: 6f1d1a52-0c0e-4f0c-9d43-8f7c2b1e9a10",
        ],
    ),
    "kinesis_subscription_batch.json": kinesis(
        [
            awslogs(
                "/aws/sagemaker/Endpoints/summarizer",
                "Canary/i-0c1d2e3f4a5b6c7d8",
                [
                    "2026-11-19 12:13:20,210 [INFO ] main org.pytorch.serve.ModelServer - Loading initial models: summarizer.mar",
                    "2026-11-19 12:13:23,402 [INFO ] W-9000-summarizer_1.0-stdout MODEL_LOG - Traceback (most recent call last):",
                    '2026-11-19 12:13:23,403 [INFO ] W-9000-summarizer_1.0-stdout MODEL_LOG -   File "/home/model-server/tmp/models/handler.py", line 5, in <module>',
                    "2026-11-19 12:13:23,404 [INFO ] W-9000-summarizer_1.0-stdout MODEL_LOG - ModuleNotFoundError: No module named 'sentencepiece'",
                ],
            ),
        ]
    ),
    "cloudwatch_control_message.json": awslogs(
        "testLogGroup",
        "testLogStream",
        ["CWL CONTROL MESSAGE: Checking health of destination Firehose."],
        kind="CONTROL_MESSAGE",
    ),
    "eventbridge_endpoint_failed.json": {
        "version": "0",
        "id": "9a3c1c8e-5f59-4f44-a1a3-0d8c3f1e2b77",
        "detail-type": "SageMaker Endpoint State Change",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2026-11-19T12:20:05Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:sagemaker:eu-west-1:123456789012:endpoint/sentiment-bert"],
        "detail": {
            "EndpointName": "sentiment-bert",
            "EndpointArn": "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/sentiment-bert",
            "EndpointConfigName": "sentiment-bert-config-3",
            "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 0}],
            "EndpointStatus": "FAILED",
            "FailureReason": "The primary container for production variant AllTraffic did not pass the ping health check. Please check CloudWatch logs for this endpoint.",
            "CreationTime": 1795280000000,
            "LastModifiedTime": 1795280405000,
        },
    },
}

AZURE: dict[str, Any] = {
    "eventhub_console_traceback.json": {
        "records": console(
            "credit-ep",
            "blue",
            "inference-server",
            [
                "2026-11-19 12:13:20,311 I [8] azmlinfsrv - AML_FLASK_ONE_COMPATIBILITY is set. Patched Flask to ensure compatibility with Flask 1.",
                "2026-11-19 12:13:21,002 E [8] azmlinfsrv - User's init function failed",
                "Traceback (most recent call last):",
                '  File "/var/azureml-app/onlinescoring/score.py", line 6, in init',
                "    import lightgbm as lgb",
                "ModuleNotFoundError: No module named 'lightgbm'",
            ],
        )
    },
    "eventhub_traffic.json": {
        "records": [
            {
                "time": f"2026-11-19T12:14:0{i}.0000000Z",
                "resourceId": "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/ML-RG/PROVIDERS/MICROSOFT.MACHINELEARNINGSERVICES/WORKSPACES/ML-WS/ONLINEENDPOINTS/CREDIT-EP",
                "category": "AmlOnlineEndpointTrafficLog",
                "location": "westeurope",
                "properties": {
                    "Method": "POST",
                    "Path": "/score",
                    "EndpointName": "credit-ep",
                    "DeploymentName": "blue",
                    "ResponseCode": code,
                    "ResponseCodeReason": reason,
                    "ModelStatusCode": model,
                    "ModelStatusReason": model_reason,
                    "XRequestId": f"5d2f0c1e-8b7a-4c3d-9e1f-0a2b3c4d5e6{i}",
                    "TotalDurationMs": 42,
                },
            }
            for i, (code, reason, model, model_reason) in enumerate(
                [
                    (200, "OK", 200, "OK"),
                    (424, "Model Error", 500, "Internal Server Error"),
                    (429, "Too many pending requests", None, ""),
                ]
            )
        ]
        + [
            {
                "time": "2026-11-19T12:14:09.0000000Z",
                "resourceId": "/SUBSCRIPTIONS/X",
                "category": "AmlComputeClusterEvent",
                "properties": {"Message": "cluster scaled"},
            }
        ]
    },
    "eventhub_event_log.json": {
        "records": [
            {
                "time": "2026-11-19T12:15:00.0000000Z",
                "resourceId": "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/ML-RG/PROVIDERS/MICROSOFT.MACHINELEARNINGSERVICES/WORKSPACES/ML-WS/ONLINEENDPOINTS/VISION-EP",
                "category": "AmlOnlineEndpointEventLog",
                "properties": {
                    "DeploymentName": "green",
                    "InstanceId": "green-5c7b9d-q8r2s",
                    "Name": name,
                    "Message": message,
                },
            }
            for name, message in [
                ("Pulling", 'Pulling image "mlws.azurecr.io/azureml/azureml_3f2a1b:latest"'),
                (
                    "LivenessProbeFailed",
                    "Liveness probe failed: HTTP probe failed with statuscode: 502",
                ),
                (
                    "BackOff",
                    "Back-off restarting failed container inference-server in pod green-5c7b9d-q8r2s_azureml-vision-ep(1b2c)",
                ),
            ]
        ]
    },
}


def main() -> None:
    for folder, samples in (("aws", AWS), ("azure", AZURE)):
        for name, event in samples.items():
            (HERE / folder / name).write_text(json.dumps(event, indent=2) + "\n")


if __name__ == "__main__":
    main()
