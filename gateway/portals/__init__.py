"""Portals, their API keys and agencies, and each agency's fee catalogue."""

from .catalogue import agency_by_id, agency_code, agency_of, check_fee_lines, check_postal, fees_of, procedure_of

__all__ = ["agency_by_id", "agency_code", "agency_of", "check_fee_lines", "check_postal", "fees_of", "procedure_of"]
