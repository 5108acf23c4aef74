"""Salesforce context written back to Intercom contacts and companies (see ``assets.py``)."""
