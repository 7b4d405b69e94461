#!/usr/bin/env bash
# Puts the built console (console/dist) where a deployed stack's distribution serves it, as
# tributary-local serves it on one machine: the files under console/ in the stack's console
# bucket with their cache headers (hashed assets a year, immutable; everything else
# no-cache), config.json written from the stack's outputs, then an invalidation of
# index.html and config.json. Needs the AWS CLI and credentials for the stack's account.
#   scripts/deploy-console.sh <stack>        (make deploy-console STACK=<stack>)
# With JwtIssuer (no user pool made by the stack): CONSOLE_CLIENT_ID=<the console's client
# id at that issuer>.
set -euo pipefail
cd "$(dirname "$0")/.."

stack=${1:?usage: scripts/deploy-console.sh <stack>}
dist=console/dist
[ -f "$dist/index.html" ] || { echo "deploy-console: $dist/index.html is missing; run make build" >&2; exit 1; }

outputs=$(aws cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].Outputs' --output json)
output() {
  OUTPUTS=$outputs python3 -c 'import json, os, sys; print(next((o["OutputValue"] for o in json.loads(os.environ["OUTPUTS"]) if o["OutputKey"] == sys.argv[1]), ""))' "$1"
}
bucket=$(output ConsoleBucketName)
distribution=$(output ConsoleDistributionId)
[ -n "$bucket" ] && [ -n "$distribution" ] || { echo "deploy-console: $stack has no console (outputs ConsoleBucketName, ConsoleDistributionId)" >&2; exit 1; }
client_id=${CONSOLE_CLIENT_ID:-$(output ConsoleClientId)}
[ -n "$client_id" ] || { echo "deploy-console: $stack makes no user pool; give CONSOLE_CLIENT_ID (the console's client at JwtIssuer)" >&2; exit 1; }

# Hashed assets first, and none removed: a page still open on the previous index.html
# keeps loading its own.
aws s3 sync "$dist/assets" "s3://$bucket/console/assets" --cache-control "public, max-age=31536000, immutable"
# Then the rest, which names them; files gone from the build are removed (not assets/*,
# not config.json: excluded files are neither copied nor deleted).
aws s3 sync "$dist" "s3://$bucket/console" --exclude "assets/*" --exclude config.json --cache-control no-cache --delete

# The runtime configuration, as tributary-local answers /console/config.json.
config=$(mktemp)
trap 'rm -f "$config"' EXIT
python3 -c 'import json, sys; json.dump({"ApiUrl": sys.argv[1], "Issuer": sys.argv[2], "ClientId": sys.argv[3]}, open(sys.argv[4], "w"))' \
  "$(output ApiUrl)" "$(output JwtIssuerUrl)" "$client_id" "$config"
aws s3 cp "$config" "s3://$bucket/console/config.json" --content-type application/json --cache-control no-cache

# The routes function serves every page from /console/index.html, so these two paths are
# all a new build changes in CloudFront's caches.
aws cloudfront create-invalidation --distribution-id "$distribution" --paths /console/index.html /console/config.json --query Invalidation.Id --output text
echo "deploy-console: $(output ConsoleUrl)"
