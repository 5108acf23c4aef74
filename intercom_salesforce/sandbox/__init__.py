"""Local emulators of the Intercom and Salesforce APIs, their seed data and fault injection.

The sandbox is a product feature: with no credentials set, the pipeline talks to these emulators
over real HTTP(S), so the same client code runs against the real services when credentials are set.
"""
