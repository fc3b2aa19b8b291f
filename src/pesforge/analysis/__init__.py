"""pesforge.analysis"""
