"""`make demo`: the seed's use case against a running `make up`.

One stream, the seed's two filter transforms (tests/seed/*.py, verbatim), two consumers
(finance-data-consumer, technology-data-consumer) that each create a dataset
(my_financial_streaming_data, my_technical_streaming_data) and deliver through their filter;
and a third consumer (technology-warehouse-consumer) that loads the technology filter's
records into a Redshift table (my_technical_warehouse, in the PostgreSQL that `make up`
starts on :5439, with a Secrets Manager secret the demo creates); the producer pushes a CSV
exactly like the seed's boto3 script (one put_record per line, PartitionKey=str(hash(line)))
with the credentials the stream hands out; then the demo waits for the delivery, prints the
datasets, their error records and the table's rows, and deletes what it created.

Environment: as scripts/tributary_api.py says (API, AWS endpoint, token and its tenant), and
TRIBUTARY_DEMO_PG_PORT (default 5439).
"""
import base64
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import psycopg

from tributary_api import API, AWS, TENANT, call, session, wait_job
from tributary_api import delete as delete_resource

SEED = Path(__file__).resolve().parent.parent / "tests" / "seed"
JOB_TIMEOUT = 180
DELIVERY_TIMEOUT = 120
PG_PORT = int(os.environ.get("TRIBUTARY_DEMO_PG_PORT", "5439"))
PG_CREDENTIALS = {"username": "tributary", "password": "tributary"}
WAREHOUSE_SCHEMA = [
    {"Name": "id", "Type": "int"},
    {"Name": "company", "Type": "string"},
    {"Name": "price", "Type": "decimal(10,2)"},
    {"Name": "sector", "Type": "string"},
]

CSV = """id,company,price,sector
1,Initech,10.5,TECHNOLOGY
2,Gringotts,99.0,FINANCIAL
3,Hooli,12.0,TECHNOLOGY
4,Mediplus,7.5,HEALTHCARE
5,Acme Power,3.2,ENERGY
6,ShopRite,1.1,RETAIL
7,Iron Bank,50.0,FINANCIAL
8,Weyland,1.0,AEROSPACE
9,Pied Piper,8.0,TECHNOLOGY
10,Bank of Braavos,70.0,FINANCIAL
"""


def say(message):
    print(f"[demo {time.strftime('%H:%M:%S')}] {message}", flush=True)


def start_and_wait(path, body, what, track):
    """POST, hand the 202 answer to `track` (so a failed job's resource is still cleaned up),
    then wait for the job."""
    answer = call("POST", path, body, expect=(202,))
    track(answer)
    wait_job(answer["Job"]["JobId"], what, JOB_TIMEOUT, 0.5)
    return answer


def delete(path, what):
    delete_resource(path, what, say, JOB_TIMEOUT)


def s3_objects(s3, uri):
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            out[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return out


def dataset_view(s3, dataset):
    data = s3_objects(s3, dataset["Location"])
    lines = [line for key in sorted(data) for line in data[key].decode("utf-8").splitlines(keepends=True)]
    errors = []
    for key, body in sorted(s3_objects(s3, dataset["ErrorLocation"]).items()):
        for line in body.decode("utf-8").splitlines():
            if line.strip():
                errors.append((key, json.loads(line)))
    return lines, errors


def table_rows(table):
    with psycopg.connect(host="127.0.0.1", port=PG_PORT, user=PG_CREDENTIALS["username"], password=PG_CREDENTIALS["password"], dbname="dev") as conn:
        return conn.execute(f'SELECT id, company, price, sector FROM "{table}" ORDER BY id').fetchall()


def produce(creds, csv_path):
    """The seed's producer script, with endpoint_url from the credentials."""
    data_records = []
    client = boto3.client(
        "kinesis",
        region_name=creds["Region"],
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        endpoint_url=creds["Endpoint"],
    )
    counter = 0
    with open(csv_path, encoding="utf-8") as csvf:
        lines = csvf.readlines()
        for line in lines:
            data_records.append(line)
            response = client.put_record(StreamName=creds["StreamName"], Data=line, PartitionKey=str(hash(line)))
            counter = counter + 1
            print("Message sent #" + str(counter))
            if response["ResponseMetadata"]["HTTPStatusCode"] != 200:
                print("Error!")
                print(response)
    return data_records


def main():
    s3 = boto3.client("s3", endpoint_url=AWS, region_name="us-east-1", aws_access_key_id="demo", aws_secret_access_key="demo")
    secrets = boto3.client("secretsmanager", endpoint_url=AWS, region_name="us-east-1", aws_access_key_id="demo", aws_secret_access_key="demo")
    run = uuid.uuid4().hex[:6]
    created = {"stream": None, "transforms": [], "consumers": [], "datasets": [], "secret": None}
    ok = False
    try:
        say(f"API {API}, AWS endpoint {AWS}")
        stream = start_and_wait(
            "/streams",
            {"StreamName": f"My-Stream-{run}", "StreamType": "Kinesis"},
            "stream",
            lambda a: created.update(stream=a["StreamId"]),
        )
        sid = stream["StreamId"]
        say(f"stream My-Stream-{run} is ACTIVE ({sid})")

        consumers, transform_of = {}, {}
        for sector, seed_file, function, consumer_name, dataset_name in (
            ("FINANCIAL", "filter_financial.py", "filter-by-financial-sector", "finance-data-consumer", "my_financial_streaming_data"),
            ("TECHNOLOGY", "filter_technology.py", "filter-by-technology-sector", "technology-data-consumer", "my_technical_streaming_data"),
        ):
            transform = start_and_wait(
                f"/streams/{sid}/transforms",
                {"FunctionName": function, "LambdaHandler": "filter.lambda_handler", "Code": {"Inline": (SEED / seed_file).read_text()}},
                function,
                lambda a: created["transforms"].append(a["TransformId"]),
            )
            say(f"transform {function} is ACTIVE")
            consumer = start_and_wait(
                f"/streams/{sid}/consumers",
                {
                    "ConsumerName": consumer_name,
                    "BufferSize": 1,
                    "BufferInterval": 0,
                    "TargetLocation": "s3",
                    "TransformId": transform["TransformId"],
                    "CreateDataset": True,
                    "DatasetConfiguration": {
                        "DatasetName": dataset_name,
                        "Domain": f"demo_{run}",
                        "FileType": "csv",
                        "Description": f"{sector.lower()} records of the demo",
                    },
                },
                consumer_name,
                lambda a: created["consumers"].append(a["ConsumerId"]),
            )
            consumer = call("GET", f"/streams/{sid}/consumers/{consumer['ConsumerId']}", expect=(200,))
            if consumer["DatasetId"] not in created["datasets"]:
                created["datasets"].append(consumer["DatasetId"])
            dataset = call("GET", f"/datasets/{consumer['DatasetId']}", expect=(200,))
            consumers[sector] = (consumer_name, dataset)
            say(f"consumer {consumer_name} is ACTIVE, delivering to {dataset_name} at {dataset['Location']}")
            transform_of[sector] = transform["TransformId"]

        # the technology records, loaded into a Redshift table as well
        created["secret"] = secrets.create_secret(Name=f"tributary/redshift/demo-{run}", SecretString=json.dumps(PG_CREDENTIALS),
                                                Tags=[{"Key": "tributary:tenant", "Value": TENANT}])["ARN"]
        warehouse = start_and_wait(
            f"/streams/{sid}/consumers",
            {
                "ConsumerName": "technology-warehouse-consumer",
                "BufferSize": 1,
                "BufferInterval": 0,
                "TargetLocation": "redshift",
                "TransformId": transform_of["TECHNOLOGY"],
                "CreateDataset": True,
                "DatasetConfiguration": {
                    "DatasetName": "my_technical_warehouse",
                    "Domain": f"demo_{run}",
                    "FileType": "csv",
                    "Schema": WAREHOUSE_SCHEMA,
                    "Redshift": {"JdbcUrl": f"jdbc:redshift://127.0.0.1:{PG_PORT}/dev", "Database": "dev", "SecretId": created["secret"]},
                },
            },
            "technology-warehouse-consumer",
            lambda a: created["consumers"].append(a["ConsumerId"]),
        )
        created["datasets"].append(warehouse["DatasetId"])
        warehouse_table = call("GET", f"/datasets/{warehouse['DatasetId']}", expect=(200,))["Redshift"]["TableName"]
        say(f"consumer technology-warehouse-consumer is ACTIVE, loading into table {warehouse_table} at 127.0.0.1:{PG_PORT}")

        linked = call("GET", f"/streams/{sid}?request_type=get_datasets", expect=(200,))["Datasets"]
        say(f"datasets of the stream: {', '.join(d['DatasetName'] for d in linked)}")

        creds = call("GET", f"/streams/{sid}/credentials", expect=(200,))
        say(f"producer credentials for {creds['StreamName']} in {creds['Region']} (endpoint {creds['Endpoint']})")
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = Path(tmp) / "data.csv"
            csv_path.write_text(CSV, encoding="utf-8")
            data_records = produce(creds, csv_path)
        print(data_records)

        def sector(line):
            return line.rstrip("\n").split(",")[3]

        expected = {s: sorted(line for line in data_records if sector(line) == s) for s in consumers}
        failed = sorted(line for line in data_records if sector(line) not in ("FINANCIAL", "TECHNOLOGY", "HEALTHCARE", "ENERGY", "RETAIL"))
        say("waiting for the delivery ...")
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while True:
            views = {s: dataset_view(s3, dataset) for s, (_, dataset) in consumers.items()}
            rows = table_rows(warehouse_table)
            done = all(
                sorted(views[s][0]) == expected[s]
                and sorted(base64.b64decode(r["rawData"]).decode("utf-8") for _, r in views[s][1]) == failed
                for s in consumers
            ) and len(rows) == len(expected["TECHNOLOGY"])
            if done or time.monotonic() > deadline:
                break
            time.sleep(1)

        for s, (consumer_name, dataset) in consumers.items():
            lines, errors = views[s]
            print()
            print(f"== {dataset['DatasetName']} (consumer {consumer_name}) — {dataset['Location']}")
            for line in lines:
                print("   " + line.rstrip("\n"))
            print(f"-- error records under {dataset['ErrorLocation']}")
            for key, record in errors:
                raw = base64.b64decode(record["rawData"]).decode("utf-8").rstrip("\n")
                print(f"   {record.get('errorCode')}: {raw!r}  ({key.split('/')[2]})")
        warehouse_dataset = call("GET", f"/datasets/{warehouse['DatasetId']}", expect=(200,))
        print()
        print(f"== {warehouse_table} (consumer technology-warehouse-consumer), RowCount {warehouse_dataset.get('RowCount')}")
        for row in rows:
            print("   " + " | ".join(str(value) for value in row))
        print()
        if done:
            say("each dataset holds exactly its sector's records, the table the technology ones; the header and the unknown sector are error records")
            ok = True
        else:
            say(f"delivery incomplete after {DELIVERY_TIMEOUT}s (expected {expected}, errors {failed})")
    finally:
        say("cleaning up")
        sid = created["stream"]
        for cid in created["consumers"]:
            # a consumer whose create failed still names the dataset it made
            resp = session.get(f"{API}/streams/{sid}/consumers/{cid}", timeout=30)
            if resp.status_code == 200 and resp.json().get("DatasetId") and resp.json()["DatasetId"] not in created["datasets"]:
                created["datasets"].append(resp.json()["DatasetId"])
            delete(f"/streams/{sid}/consumers/{cid}", f"consumer {cid}")
        for tid in created["transforms"]:
            delete(f"/streams/{sid}/transforms/{tid}", f"transform {tid}")
        if sid:
            delete(f"/streams/{sid}", f"stream {sid}")
        for did in created["datasets"]:
            delete(f"/datasets/{did}", f"dataset {did}")
        if created["secret"]:
            secrets.delete_secret(SecretId=created["secret"], ForceDeleteWithoutRecovery=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
