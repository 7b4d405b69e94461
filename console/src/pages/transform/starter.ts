/** The code a new transform starts from: the Firehose contract, every record passed through. */
export const STARTER_MODULE = 'transform';

export const STARTER_CODE = `"""
A data transformation on the Firehose contract: every record in comes back with its
recordId and a result: Ok (deliver data), Dropped (deliver nothing) or ProcessingFailed
(send it to the dataset's error location, to redrive once fixed).
"""
import base64


def lambda_handler(event, context):
    output = []
    for record in event["records"]:
        payload = base64.b64decode(record["data"]).decode("utf-8")
        output.append({
            "recordId": record["recordId"],
            "result": "Ok",
            "data": base64.b64encode(payload.encode("utf-8")).decode("utf-8"),
        })
    return {"records": output}
`;
