"""pesforge.testing"""
