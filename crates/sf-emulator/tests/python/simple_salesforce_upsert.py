"""Logs in to the emulator with simple-salesforce's client credentials flow and upserts
a Contact by external id.

simple-salesforce always talks https to *.salesforce.com and to the instance host, so
a requests transport adapter sends those requests to the emulator's plain-http base
URL instead. The client library itself is used as published.

Usage: simple_salesforce_upsert.py BASE_URL CLIENT_ID CLIENT_SECRET
Prints one JSON object with what the client saw.
"""

import json
import sys
import urllib.parse

try:
    import requests
    from simple_salesforce import Salesforce
except ImportError as error:
    print(f"IMPORT_FAILED: {error}", file=sys.stderr)
    sys.exit(3)


class EmulatorAdapter(requests.adapters.HTTPAdapter):
    """Rewrites every https URL to the emulator, keeping path and query."""

    def __init__(self, base_url):
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def send(self, request, **kwargs):
        parts = urllib.parse.urlsplit(request.url)
        query = f"?{parts.query}" if parts.query else ""
        request.url = f"{self.base_url}{parts.path}{query}"
        return super().send(request, **kwargs)


def main():
    base_url, client_id, client_secret = sys.argv[1:4]
    session = requests.Session()
    session.mount("https://", EmulatorAdapter(base_url))
    client = Salesforce(
        consumer_key=client_id,
        consumer_secret=client_secret,
        domain="strexforce-test.my",
        session=session,
        version="62.0",
    )
    contacts = client.Contact
    created = contacts.upsert(
        "Strex_MSISDN__c/+4799000001", {"LastName": "Nordmann", "FirstName": "Ola"}
    )
    updated = contacts.upsert("Strex_MSISDN__c/+4799000001", {"FirstName": "Kari"})
    record = contacts.get_by_custom_id("Strex_MSISDN__c", "+4799000001")
    usage = contacts.api_usage.get("api-usage")
    print(
        json.dumps(
            {
                "created_status": created,
                "updated_status": updated,
                "id": record["Id"],
                "first_name": record["FirstName"],
                "api_usage": [usage.used, usage.total] if usage else None,
            }
        )
    )


if __name__ == "__main__":
    main()
