-- Who takes part and who may do what: départements, structures, professionals
-- and memberships, patients (pseudonymised) with their ALD and médecin-traitant
-- declarations, enrolments with phases, parameter sets, tokens, audit trail.

CREATE TABLE departements (
    code    text PRIMARY KEY CHECK (code ~ '^([0-9]{2}|2[AB]|97[1-6])$'),
    name    text NOT NULL,
    region  text NOT NULL REFERENCES regions (code)
);
CREATE INDEX departements_region ON departements (region);

INSERT INTO departements (code, name, region) VALUES
('01','Ain','84'),('02','Aisne','32'),('03','Allier','84'),('04','Alpes-de-Haute-Provence','93'),
('05','Hautes-Alpes','93'),('06','Alpes-Maritimes','93'),('07','Ardèche','84'),('08','Ardennes','44'),
('09','Ariège','76'),('10','Aube','44'),('11','Aude','76'),('12','Aveyron','76'),
('13','Bouches-du-Rhône','93'),('14','Calvados','28'),('15','Cantal','84'),('16','Charente','75'),
('17','Charente-Maritime','75'),('18','Cher','24'),('19','Corrèze','75'),('2A','Corse-du-Sud','94'),
('2B','Haute-Corse','94'),('21','Côte-d''Or','27'),('22','Côtes-d''Armor','53'),('23','Creuse','75'),
('24','Dordogne','75'),('25','Doubs','27'),('26','Drôme','84'),('27','Eure','28'),
('28','Eure-et-Loir','24'),('29','Finistère','53'),('30','Gard','76'),('31','Haute-Garonne','76'),
('32','Gers','76'),('33','Gironde','75'),('34','Hérault','76'),('35','Ille-et-Vilaine','53'),
('36','Indre','24'),('37','Indre-et-Loire','24'),('38','Isère','84'),('39','Jura','27'),
('40','Landes','75'),('41','Loir-et-Cher','24'),('42','Loire','84'),('43','Haute-Loire','84'),
('44','Loire-Atlantique','52'),('45','Loiret','24'),('46','Lot','76'),('47','Lot-et-Garonne','75'),
('48','Lozère','76'),('49','Maine-et-Loire','52'),('50','Manche','28'),('51','Marne','44'),
('52','Haute-Marne','44'),('53','Mayenne','52'),('54','Meurthe-et-Moselle','44'),('55','Meuse','44'),
('56','Morbihan','53'),('57','Moselle','44'),('58','Nièvre','27'),('59','Nord','32'),
('60','Oise','32'),('61','Orne','28'),('62','Pas-de-Calais','32'),('63','Puy-de-Dôme','84'),
('64','Pyrénées-Atlantiques','75'),('65','Hautes-Pyrénées','76'),('66','Pyrénées-Orientales','76'),
('67','Bas-Rhin','44'),('68','Haut-Rhin','44'),('69','Rhône','84'),('70','Haute-Saône','27'),
('71','Saône-et-Loire','27'),('72','Sarthe','52'),('73','Savoie','84'),('74','Haute-Savoie','84'),
('75','Paris','11'),('76','Seine-Maritime','28'),('77','Seine-et-Marne','11'),('78','Yvelines','11'),
('79','Deux-Sèvres','75'),('80','Somme','32'),('81','Tarn','76'),('82','Tarn-et-Garonne','76'),
('83','Var','93'),('84','Vaucluse','93'),('85','Vendée','52'),('86','Vienne','75'),
('87','Haute-Vienne','75'),('88','Vosges','44'),('89','Yonne','27'),('90','Territoire de Belfort','27'),
('91','Essonne','11'),('92','Hauts-de-Seine','11'),('93','Seine-Saint-Denis','11'),('94','Val-de-Marne','11'),
('95','Val-d''Oise','11'),('971','Guadeloupe','01'),('972','Martinique','02'),('973','Guyane','03'),
('974','La Réunion','04'),('976','Mayotte','06');

-- The département of an INSEE commune code: 3 characters overseas (97x), else 2.
CREATE FUNCTION commune_departement(commune text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    RETURN CASE WHEN commune LIKE '97%' THEN substr(commune, 1, 3) ELSE substr(commune, 1, 2) END;

CREATE TABLE structures (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('MSP','SISA','CDS','CPTS','ESP','ES','GHT','GCS','GROUPEMENT')),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    finess      text UNIQUE CHECK (finess ~ '^([0-9]{2}|2[AB])[0-9]{7}$'),
    siret       text CHECK (siret ~ '^[0-9]{14}$'),
    siren       text CHECK (siren ~ '^[0-9]{9}$'),
    region      text NOT NULL REFERENCES regions (code),
    commune     text NOT NULL CHECK (commune ~ '^([0-9]{5}|2[AB][0-9]{3})$'),
    legal_form  text NOT NULL,
    opened_on   date,
    closed_on   date CHECK (closed_on IS NULL OR opened_on IS NULL OR closed_on >= opened_on),
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX structures_region ON structures (region, id);
CREATE INDEX structures_kind ON structures (kind, id);

CREATE TABLE professionals (
    id          bigserial PRIMARY KEY,
    rpps        text NOT NULL UNIQUE CHECK (rpps ~ '^[0-9]{11}$'),
    profession  text NOT NULL CHECK (profession IN ('MG','IDE','MK','PHARM','SF','DENT','SPEC','OTHER')),
    last_name   text NOT NULL CHECK (length(last_name) BETWEEN 1 AND 100),
    first_name  text NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One professional may belong to several structures; periods never overlap
-- within one structure (checked by the store in the same transaction).
CREATE TABLE memberships (
    id               bigserial PRIMARY KEY,
    professional_id  bigint NOT NULL REFERENCES professionals (id),
    structure_id     bigint NOT NULL REFERENCES structures (id),
    start_on         date NOT NULL,
    end_on           date CHECK (end_on IS NULL OR end_on >= start_on),
    fte              numeric(4,2) NOT NULL DEFAULT 1 CHECK (fte > 0 AND fte <= 1),
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX memberships_structure ON memberships (structure_id, start_on);
CREATE INDEX memberships_professional ON memberships (professional_id);

-- A patient is known by a keyed pseudonym of the NIR (HMAC-SHA-256); the NIR
-- itself never reaches the database.
CREATE TABLE patients (
    id           bigserial PRIMARY KEY,
    pseudonym    bytea NOT NULL UNIQUE CHECK (length(pseudonym) = 32),
    birth_year   smallint NOT NULL CHECK (birth_year BETWEEN 1880 AND 2200),
    birth_month  smallint CHECK (birth_month BETWEEN 1 AND 12),
    sex          smallint NOT NULL CHECK (sex IN (1, 2)),
    commune      text CHECK (commune ~ '^([0-9]{5}|2[AB][0-9]{3})$'),
    c2s          boolean NOT NULL DEFAULT false,
    ame          boolean NOT NULL DEFAULT false,
    death_date   date,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Which structures may see a patient: the ones that declared or uploaded them.
CREATE TABLE patient_links (
    patient_id    bigint NOT NULL REFERENCES patients (id),
    structure_id  bigint NOT NULL REFERENCES structures (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (structure_id, patient_id)
);
CREATE INDEX patient_links_patient ON patient_links (patient_id);

-- ALD (affections de longue durée): code 1..30 of the list, 31 "hors liste",
-- 32 "polypathologies".
CREATE TABLE patient_ald (
    patient_id  bigint NOT NULL REFERENCES patients (id),
    ald         smallint NOT NULL CHECK (ald BETWEEN 1 AND 32),
    start_on    date NOT NULL,
    end_on      date CHECK (end_on IS NULL OR end_on >= start_on),
    PRIMARY KEY (patient_id, ald, start_on)
);

CREATE TABLE mt_declarations (
    id          bigserial PRIMARY KEY,
    patient_id  bigint NOT NULL REFERENCES patients (id),
    gp_rpps     text NOT NULL CHECK (gp_rpps ~ '^[0-9]{11}$'),
    start_on    date NOT NULL,
    end_on      date CHECK (end_on IS NULL OR end_on >= start_on),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (patient_id, start_on)
);
CREATE INDEX mt_declarations_gp ON mt_declarations (gp_rpps, start_on);

-- Versioned parameter sets: a version is never edited; a change is a new version.
CREATE TABLE parameter_sets (
    id          bigserial PRIMARY KEY,
    experiment  text NOT NULL CHECK (experiment IN ('PEPS','IPEP','EDS')),
    year        smallint NOT NULL CHECK (year BETWEEN 2018 AND 2100),
    version     integer NOT NULL CHECK (version >= 1),
    label       text NOT NULL,
    body        jsonb NOT NULL,
    checksum    text NOT NULL,
    origin      text NOT NULL,  -- 'seed:<file>' or 'api'
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  bigint,
    UNIQUE (experiment, year, version),
    UNIQUE (experiment, year, checksum)
);
CREATE RULE parameter_sets_no_update AS ON UPDATE TO parameter_sets DO INSTEAD NOTHING;
CREATE RULE parameter_sets_no_delete AS ON DELETE TO parameter_sets DO INSTEAD NOTHING;

CREATE TABLE enrolments (
    id                 bigserial PRIMARY KEY,
    structure_id       bigint NOT NULL REFERENCES structures (id),
    experiment         text NOT NULL CHECK (experiment IN ('PEPS','IPEP','EDS')),
    option             text NOT NULL,
    start_on           date NOT NULL,
    withdrawn_on       date CHECK (withdrawn_on IS NULL OR withdrawn_on >= start_on),
    withdrawal_reason  text,
    parameter_set_id   bigint NOT NULL REFERENCES parameter_sets (id),
    eligibility        jsonb NOT NULL,   -- the report measured at enrolment
    version            integer NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((experiment = 'PEPS' AND option IN ('diabetic','elderly','whole'))
        OR (experiment = 'EDS' AND option IN ('PTH','PTG','COLECTOMY'))
        OR (experiment = 'IPEP' AND option = 'groupement'))
);
-- One live enrolment per structure, experiment and option.
CREATE UNIQUE INDEX enrolments_live ON enrolments (structure_id, experiment, option) WHERE withdrawn_on IS NULL;

CREATE TABLE enrolment_phases (
    id            bigserial PRIMARY KEY,
    enrolment_id  bigint NOT NULL REFERENCES enrolments (id),
    phase         text NOT NULL,
    start_on      date NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    bigint,
    UNIQUE (enrolment_id, phase)
);

CREATE TABLE tokens (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    scope_kind    text NOT NULL CHECK (scope_kind IN ('national','ars','structure')),
    region        text REFERENCES regions (code),
    structure_id  bigint REFERENCES structures (id),
    can_write     boolean NOT NULL,
    hash          bytea NOT NULL UNIQUE CHECK (length(hash) = 32),  -- SHA-256 of the token
    prefix        text NOT NULL,                                    -- first characters, to recognise it
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    bigint REFERENCES tokens (id),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    CHECK ((scope_kind = 'national' AND region IS NULL AND structure_id IS NULL)
        OR (scope_kind = 'ars' AND region IS NOT NULL AND structure_id IS NULL)
        OR (scope_kind = 'structure' AND region IS NULL AND structure_id IS NOT NULL))
);

-- Every change: who, when, what, on which resource, in the same transaction as
-- the change. No patient identity goes in here (ids and pseudonymous fields only).
CREATE TABLE audit_log (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    token_id       bigint,
    scope          text NOT NULL,
    request_id     text,
    action         text NOT NULL,
    resource_type  text NOT NULL,
    resource_id    text NOT NULL,
    region         text,
    structure_id   bigint,
    before         jsonb,
    after          jsonb
);
CREATE INDEX audit_log_region ON audit_log (region, id);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id, id);
CREATE RULE audit_log_no_update AS ON UPDATE TO audit_log DO INSTEAD NOTHING;
CREATE RULE audit_log_no_delete AS ON DELETE TO audit_log DO INSTEAD NOTHING;
