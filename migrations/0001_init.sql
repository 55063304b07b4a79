-- The eighteen French regions, each with its agence régionale de santé (ARS).
-- Codes are the INSEE region codes (COG); tenancy of ARS callers is by this code.
CREATE TABLE regions (
    code      text PRIMARY KEY CHECK (code ~ '^[0-9]{2}$'),
    name      text NOT NULL UNIQUE,
    ars_name  text NOT NULL UNIQUE
);

INSERT INTO regions (code, name, ars_name) VALUES
    ('01', 'Guadeloupe', 'ARS Guadeloupe, Saint-Martin et Saint-Barthélemy'),
    ('02', 'Martinique', 'ARS Martinique'),
    ('03', 'Guyane', 'ARS Guyane'),
    ('04', 'La Réunion', 'ARS La Réunion'),
    ('06', 'Mayotte', 'ARS Mayotte'),
    ('11', 'Île-de-France', 'ARS Île-de-France'),
    ('24', 'Centre-Val de Loire', 'ARS Centre-Val de Loire'),
    ('27', 'Bourgogne-Franche-Comté', 'ARS Bourgogne-Franche-Comté'),
    ('28', 'Normandie', 'ARS Normandie'),
    ('32', 'Hauts-de-France', 'ARS Hauts-de-France'),
    ('44', 'Grand Est', 'ARS Grand Est'),
    ('52', 'Pays de la Loire', 'ARS Pays de la Loire'),
    ('53', 'Bretagne', 'ARS Bretagne'),
    ('75', 'Nouvelle-Aquitaine', 'ARS Nouvelle-Aquitaine'),
    ('76', 'Occitanie', 'ARS Occitanie'),
    ('84', 'Auvergne-Rhône-Alpes', 'ARS Auvergne-Rhône-Alpes'),
    ('93', 'Provence-Alpes-Côte d''Azur', 'ARS Provence-Alpes-Côte d''Azur'),
    ('94', 'Corse', 'ARS Corse');
