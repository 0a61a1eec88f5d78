import { describe, expect, it } from 'vitest';
import { MESSAGES } from '../../src/legacy/entities.js';
import { applyQuery, parseQuery, type Entity } from '../../src/legacy/query.js';

const messages: Entity[] = [
  { Id: 'SP197263', Workload: 'SharePoint', MessageType: 'Incident', StartTime: '2019-12-01T04:00:00.000Z', EndTime: null, AffectedWorkloadNames: [] },
  { Id: 'EX20119', Workload: 'Exchange', MessageType: 'Incident', StartTime: '2015-04-01T22:25:00.000Z', EndTime: '2015-04-07T21:48:00.000Z', AffectedWorkloadNames: [] },
  { Id: 'MC800001', Workload: null, MessageType: 'MessageCenter', StartTime: '2019-12-05T00:00:00.000Z', EndTime: null, AffectedWorkloadNames: ['SharePoint', 'OneDriveForBusiness'] },
];

const ids = (query: string) => {
  const options = parseQuery(new URLSearchParams(query), 'Messages', MESSAGES.filterable, MESSAGES.properties);
  return applyQuery(messages, options, MESSAGES.defaultTop).map((m) => m.Id);
};
const refusal = (query: string) => {
  try {
    ids(query);
  } catch (error) {
    return `${(error as { code: string }).code}: ${(error as Error).message}`;
  }
  return 'accepted';
};

describe('legacy $filter', () => {
  it('matches Id case-insensitively, property name included, as the walk-through writes it', () => {
    expect(ids("$filter=ID eq 'sp197263'")).toEqual(['SP197263']);
  });

  it('compares date-times with the OData operators, null for open items, and/or/not with parentheses', () => {
    expect(ids('$filter=StartTime ge 2019-11-01T00:00:00Z')).toEqual(['SP197263', 'MC800001']);
    expect(ids("$filter=StartTime lt datetime'2019-12-02T00:00:00Z' and EndTime eq null")).toEqual(['SP197263']);
    expect(ids("$filter=EndTime ne null or (Workload eq 'SharePoint' and not (MessageType eq 'Incident'))")).toEqual(['EX20119', 'MC800001']);
    expect(ids('$filter=EndTime le 2015-04-08')).toEqual(['EX20119']);
  });

  it('matches a message-center post by any service it names, and takes typed enum literals', () => {
    expect(ids("$filter=Workload eq 'onedriveforbusiness'")).toEqual(['MC800001']);
    expect(ids("$filter=Workload ne 'SharePoint'")).toEqual(['EX20119']);
    expect(ids("$filter=MessageType eq Microsoft.Office365ServiceComms.ExposedContracts.MessageType'MessageCenter'")).toEqual(['MC800001']);
  });

  it('ignores custom options (no $), as the retired API answered ?top eq 10', () => {
    expect(ids('top eq 10')).toHaveLength(3);
  });

  it('refuses what it cannot answer, naming what is wrong', () => {
    expect(refusal("$filter=Title eq 'x'")).toBe('InvalidFilter: $filter: Messages cannot be filtered on \'Title\'; it can be filtered on Workload, StartTime, EndTime, MessageType, Id');
    expect(refusal("$filter=Id like 'x'")).toBe("InvalidFilter: $filter: expected one of eq, ne, gt, ge, lt, le after Id at 'like' (character 4)");
    expect(refusal('$filter=StartTime ge yesterday')).toBe('InvalidFilter: $filter: StartTime compares with a date-time such as 2019-12-01T00:00:00Z; got yesterday');
    expect(refusal('$filter=Id eq SP1')).toBe("InvalidFilter: $filter: Id compares with a quoted string such as 'EX123456'; got SP1");
    expect(refusal("$filter=Id eq 'SP1")).toBe('InvalidFilter: $filter: unterminated string starting at character 7');
    expect(refusal("$filter=(Id eq 'a'")).toBe("InvalidFilter: $filter: expected ')' at the end");
    expect(refusal("$filter=Id eq 'a' Id eq 'b'")).toBe("InvalidFilter: $filter: unexpected at 'Id' (character 11); join conditions with 'and' or 'or'");
    expect(refusal('$top=101')).toBe("InvalidQueryOption: $top must be a whole number from 1 to 100; got '101'");
    expect(refusal('$skip=-1')).toBe("InvalidQueryOption: $skip must be a whole number of at least 0; got '-1'");
    expect(refusal('$orderby=Id')).toBe("UnsupportedQueryOption: the query option '$orderby' is not supported; Messages takes $filter, $select, $top, $skip");
    expect(refusal('$select=Id,Body')).toMatch(/^InvalidSelect: \$select: Messages has no property 'Body'; its properties are Id, Name, Title, /);
  });
});

describe('legacy $select, $top, $skip', () => {
  it('projects the selected properties in the asked order and pages', () => {
    const options = parseQuery(new URLSearchParams('$select=workload,id&$top=1&$skip=1'), 'Messages', MESSAGES.filterable, MESSAGES.properties);
    expect(applyQuery(messages, options)).toEqual([{ Workload: 'Exchange', Id: 'EX20119' }]);
  });

  it('returns at most the documented default of 100 without $top', () => {
    const many = Array.from({ length: 150 }, (_, i) => ({ Id: `X${i}` }));
    const options = parseQuery(new URLSearchParams(''), 'Messages', MESSAGES.filterable, MESSAGES.properties);
    expect(applyQuery(many, options, MESSAGES.defaultTop)).toHaveLength(100);
  });
});
