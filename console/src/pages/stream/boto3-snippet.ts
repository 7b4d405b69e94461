/** The seed's boto3 producer script, filled in with a stream's credentials and endpoint. */
import type { Schemas } from '../../lib/api';

const py = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function boto3Snippet(credentials: Schemas['StreamCredentials']): string {
  return `import json
import csv
import boto3


data_records = []
client = boto3.client('kinesis', region_name=${py(credentials.Region)}, endpoint_url=${py(credentials.Endpoint)},
                      aws_access_key_id=${py(credentials.AccessKeyId)}, aws_secret_access_key=${py(credentials.SecretAccessKey)})
counter = 0


with open('./data.csv', encoding='utf-8') as csvf:
    lines = csvf.readlines()
    for line in lines:
        data_records.append(line)
        response = client.put_record(
            StreamName=${py(credentials.StreamName)},
            Data=line,
            PartitionKey=str(hash(line))
        )
        counter = counter + 1
        print('Message sent #' + str(counter))
        # If the message was not successfully sent print an error message
        if response['ResponseMetadata']['HTTPStatusCode'] != 200:
            print('Error!')
            print(response)
print(data_records)
`;
}
