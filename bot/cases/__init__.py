"""Cases: abuse reports and business cases once submitted, their lifecycles, cards and service."""
